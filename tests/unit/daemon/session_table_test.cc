// Tests of daemon/session_table.cc: ids, the compact slot round trip,
// contiguous shares (BASE mode) and iteration across them.
#include "daemon/session_table.h"

#include <doctest/doctest.h>
#include <netinet/in.h>
#include <unistd.h>

#include <cstring>
#include <set>

using wsd::daemon::SessionInfo;
using wsd::daemon::SessionTable;
using wsd::daemon::slot_of;

namespace {

SessionInfo v4_client(uint8_t last_byte, uint16_t port) {
  SessionInfo info;
  info.status = 1;
  info.reactor = 2;
  info.worker = 255;
  info.family = AF_INET;
  info.addr[0] = 127;
  info.addr[3] = last_byte;
  info.remote_port = port;
  info.peer_family = AF_INET;
  std::memcpy(info.peer_addr, info.addr, sizeof info.addr);
  info.peer_port = port;
  info.server_port = 9501;
  info.tls = 1;
  info.connect_time = info.last_time = 1700000000;
  return info;
}

std::set<uint64_t> list_all(const SessionTable& t, bool websocket_only = false) {
  std::set<uint64_t> ids;
  uint64_t cursor = 0;
  uint64_t batch[3];
  while (size_t n = t.list(cursor, batch, 3, websocket_only)) ids.insert(batch, batch + n);
  return ids;
}

}  // namespace

TEST_CASE("session table: acquire, read back every field, set_remote, release") {
  SessionTable t = SessionTable::create(100);
  uint64_t id = t.acquire(v4_client(9, 40000));
  REQUIRE(id != 0);
  CHECK(slot_of(id) == 1);  // slot 0 is never used
  CHECK(t.exists(id));
  CHECK(t.live() == 1);
  CHECK(t.reactor_of(id) == 2);
  SessionInfo got;
  REQUIRE(t.read(id, got));
  CHECK(got.status == 1);
  CHECK(got.worker == 255);
  CHECK(got.family == AF_INET);
  CHECK(got.addr[3] == 9);
  CHECK(got.remote_port == 40000);
  CHECK(got.peer_port == 40000);
  CHECK(got.server_port == 9501);
  CHECK(got.tls == 1);
  CHECK(got.connect_time == 1700000000);

  uint8_t v6[16] = {0x20, 0x01, 0x0d, 0xb8};
  v6[15] = 7;
  t.set_remote(id, AF_INET6, v6, 51234);
  t.set_status(id, 3);
  t.touch(id, 1700000100);
  t.set_output(id, 12345);
  REQUIRE(t.read(id, got));
  CHECK(got.family == AF_INET6);
  CHECK(std::memcmp(got.addr, v6, 16) == 0);
  CHECK(got.remote_port == 51234);
  CHECK(got.peer_family == AF_INET);  // the TCP peer stays
  CHECK(got.peer_addr[3] == 9);
  CHECK(got.status == 3);
  CHECK(t.status(id) == 3);
  CHECK(got.last_time == 1700000100);
  CHECK(t.output(id) == 12345);

  t.release(id);
  CHECK_FALSE(t.exists(id));
  CHECK(t.status(id) == 0xFF);
  CHECK_FALSE(t.read(id, got));
  CHECK(t.live() == 0);
  // The slot is reused with a new id: the old one stays dead.
  uint64_t again = t.acquire(v4_client(1, 1));
  CHECK(slot_of(again) == slot_of(id));
  CHECK(again != id);
  CHECK_FALSE(t.exists(id));
}

TEST_CASE("session table: a share fills up on its own; iteration skips the unused part of each share") {
  // Two shares of 50 slots (BASE mode with two workers): the first has 49
  // usable slots (slot 0 is never used).
  SessionTable t = SessionTable::create(100, 2);
  SessionTable w0 = SessionTable::attach(dup(t.fd()));
  SessionTable w1 = SessionTable::attach(dup(t.fd()));
  w0.set_partition(0);
  w1.set_partition(1);
  std::set<uint64_t> ids;
  for (int i = 0; i < 3; ++i) {
    uint64_t a = w0.acquire(v4_client(1, 1));
    uint64_t b = w1.acquire(v4_client(2, 2));
    CHECK(slot_of(a) == 1 + i);
    CHECK(slot_of(b) == 50 + i);
    ids.insert(a);
    ids.insert(b);
  }
  t.set_status(*ids.rbegin(), 3);
  CHECK(list_all(t) == ids);
  CHECK(list_all(w1) == ids);  // any process sees every connection
  CHECK(list_all(t, true) == std::set<uint64_t>{*ids.rbegin()});
  CHECK(t.live() == 6);

  int more = 0;
  while (w0.acquire(v4_client(1, 1)) != 0) ++more;
  CHECK(more == 46);           // 49 in all
  CHECK(w1.acquire(v4_client(2, 2)) != 0);  // the other share is not affected

  // A successor of worker 1 (after a crash) releases what it left.
  SessionTable w1b = SessionTable::attach(dup(t.fd()));
  w1b.set_partition(1);
  CHECK(t.live() == 49);
  CHECK(slot_of(w1b.acquire(v4_client(3, 3))) == 50);
}
