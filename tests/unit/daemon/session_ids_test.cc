// Connection ids with and without a cluster node number (daemon/session_table.h).
#include <doctest/doctest.h>

#include "daemon/session_table.h"

using namespace wsd::daemon;

TEST_CASE("session ids: without a cluster the node bits are 0 and ids keep their shape") {
  SessionTable t = SessionTable::create(64);
  SessionInfo info;
  uint64_t a = t.acquire(info);
  uint64_t b = t.acquire(info);
  CHECK(node_of(a) == 0);
  uint64_t plain = (uint64_t{1} << kSlotBits) | slot_of(a);
  CHECK(a == plain);
  uint64_t second = b >> kSlotBits;
  CHECK(second == 2);
  CHECK(t.exists(a));
}

TEST_CASE("session ids: a cluster node's ids carry its number in the top 12 bits") {
  for (uint32_t node : {1u, 77u, 4095u}) {
    SessionTable t = SessionTable::create(64, 1, node);
    SessionInfo info;
    info.status = 3;
    uint64_t id = t.acquire(info);
    CHECK(node_of(id) == node);
    uint64_t sequence = (id >> kSlotBits) & kClusterSequenceMask;
    CHECK(sequence == 1);
    CHECK(t.exists(id));
    CHECK(t.status(id) == 3);
    CHECK(t.reactor_of(id) == 0);
    // Another node's id with the same slot and sequence is not ours.
    uint64_t other = (id & ~(uint64_t{0xFFF} << kNodeShift)) | (uint64_t{(node % 4095) + 1} << kNodeShift);
    CHECK_FALSE(t.exists(other));
    t.release(id);
    CHECK_FALSE(t.exists(id));
  }
}
