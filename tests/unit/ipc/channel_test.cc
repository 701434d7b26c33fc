// Tests of ipc/channel.cc and ipc/shared_ring.cc over a real socketpair:
// batching, order, large payloads through the shared ring (and back through
// the socket when the ring is full), the ring's memfd crossing with
// SCM_RIGHTS, moving unsent messages to a successor, and broken peers.
#include "ipc/channel.h"

#include <doctest/doctest.h>

#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>
#include <vector>

using wsd::ipc::Channel;
using wsd::ipc::MessageHeader;
using wsd::ipc::MessageType;

namespace {

constexpr size_t kMax = 1024 * 1024;

struct Received {
  MessageType type;
  uint64_t conn;
  uint16_t aux;
  uint8_t flags;
  std::string payload;
};

struct Pair {
  int a = -1, b = -1;
  Pair() {
    int sv[2];
    REQUIRE(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) == 0);
    int buf = 4 * 1024 * 1024;
    setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &buf, sizeof buf);
    a = sv[0];
    b = sv[1];
  }
};

// Reads until `count` messages arrived or the socket has nothing more.
std::vector<Received> read_all(Channel& ch, size_t count, Channel::IoResult* last = nullptr) {
  std::vector<Received> got;
  for (int i = 0; i < 1000 && got.size() < count; ++i) {
    Channel::IoResult r = ch.read_messages([&](const MessageHeader& h, std::string_view p) {
      got.push_back({h.type, h.conn, h.aux, h.flags, std::string(p)});
    });
    if (last) *last = r;
    if (r == Channel::IoResult::Error || r == Channel::IoResult::Closed) break;
  }
  return got;
}

std::string pattern(size_t n, unsigned seed) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>((i * 31 + seed * 7) & 0xFF);
  return s;
}

size_t queued_in_socket(int fd) {
  int n = 0;
  ioctl(fd, FIONREAD, &n);
  return static_cast<size_t>(n);
}

}  // namespace

TEST_CASE("small messages are batched and arrive whole and in order") {
  Pair p;
  Channel writer(p.a, kMax, wsd::ipc::kLargePayloadRing);
  Channel reader(p.b, kMax);
  for (int i = 0; i < 1000; ++i) {
    writer.append(MessageType::Message, static_cast<uint64_t>(i), 7, 3, "hello", std::to_string(i));
  }
  CHECK(writer.pending() > 0);
  CHECK(writer.flush() == Channel::IoResult::Ok);
  std::vector<Received> got = read_all(reader, 1000);
  REQUIRE(got.size() == 1000);
  for (int i = 0; i < 1000; ++i) {
    CHECK(got[i].type == MessageType::Message);
    CHECK(got[i].conn == static_cast<uint64_t>(i));
    CHECK(got[i].aux == 7);
    CHECK(got[i].flags == 3);
    CHECK(got[i].payload == "hello" + std::to_string(i));
  }
}

TEST_CASE("a large payload crosses in the shared ring, not the socket") {
  Pair p;
  Channel writer(p.a, kMax, wsd::ipc::kLargePayloadRing);
  Channel reader(p.b, kMax);
  std::string big = pattern(64 * 1024, 1);
  writer.append(MessageType::Push, 42, 2, 0, std::string_view(big).substr(0, 1000), std::string_view(big).substr(1000));
  CHECK(writer.flush() == Channel::IoResult::Ok);
  // The attach message and a 16-byte reference, not 64 KiB.
  CHECK(queued_in_socket(p.b) < 128);
  std::vector<Received> got = read_all(reader, 1);
  REQUIRE(got.size() == 1);
  CHECK(got[0].type == MessageType::Push);   // the ring bit never reaches the owner
  CHECK(got[0].conn == 42);
  CHECK(got[0].aux == 2);
  CHECK(got[0].payload == big);
}

TEST_CASE("without a ring a large payload goes through the socket") {
  Pair p;
  Channel writer(p.a, kMax);
  Channel reader(p.b, kMax);
  std::string big = pattern(64 * 1024, 2);
  writer.append(MessageType::Message, 1, 0, 0, big);
  writer.flush();
  CHECK(queued_in_socket(p.b) > 64 * 1024);
  std::vector<Received> got = read_all(reader, 1);
  REQUIRE(got.size() == 1);
  CHECK(got[0].payload == big);
}

TEST_CASE("the ring wraps around many times, interleaved with small messages") {
  Pair p;
  Channel writer(p.a, kMax, wsd::ipc::kLargePayloadRing);
  Channel reader(p.b, kMax);
  size_t sent = 0;
  size_t checked = 0;
  // 400 x ~60 KiB = ~24 MiB through a 2 MiB ring; sizes vary so regions
  // start at odd offsets and some must skip the ring's end.
  for (unsigned i = 0; i < 400; ++i) {
    size_t n = 40 * 1024 + (i * 4099) % (40 * 1024);
    writer.append(MessageType::Message, i, 0, 0, pattern(n, i));
    writer.append(MessageType::Processed, i, 0, 0, "x");
    sent += 2;
    writer.flush();
    if (i % 7 == 6) {
      std::vector<Received> got = read_all(reader, sent - checked);
      for (const Received& r : got) {
        size_t k = checked / 2;
        if (checked % 2 == 0) {
          CHECK(r.type == MessageType::Message);
          CHECK(r.payload == pattern(40 * 1024 + (k * 4099) % (40 * 1024), static_cast<unsigned>(k)));
        } else {
          CHECK(r.type == MessageType::Processed);
          CHECK(r.payload == "x");
        }
        ++checked;
      }
    }
  }
  std::vector<Received> rest = read_all(reader, sent - checked);
  checked += rest.size();
  CHECK(checked == sent);
}

TEST_CASE("a full ring sends the rest through the socket, order kept") {
  Pair p;
  Channel writer(p.a, 8 * 1024 * 1024, wsd::ipc::kLargePayloadRing);
  Channel reader(p.b, 8 * 1024 * 1024);
  // 80 x 64 KiB = 5 MiB with nothing read: the 2 MiB ring fills, the
  // remainder goes inline; a payload over a quarter of the ring always does.
  std::vector<std::string> sent;
  for (unsigned i = 0; i < 80; ++i) sent.push_back(pattern(64 * 1024, i));
  sent.push_back(pattern(600 * 1024, 99));
  for (size_t i = 0; i < sent.size(); ++i) writer.append(MessageType::Message, i, 0, 0, sent[i]);
  std::vector<Received> got;
  for (int round = 0; round < 1000 && got.size() < sent.size(); ++round) {
    writer.flush();
    std::vector<Received> more = read_all(reader, sent.size() - got.size());
    got.insert(got.end(), more.begin(), more.end());
  }
  REQUIRE(got.size() == sent.size());
  for (size_t i = 0; i < sent.size(); ++i) {
    CHECK(got[i].conn == i);
    CHECK(got[i].payload == sent[i]);
  }
}

TEST_CASE("unsent messages move to a successor with their ring payloads inline") {
  Pair p1;
  Channel old_channel(p1.a, kMax, wsd::ipc::kLargePayloadRing);
  Channel old_reader(p1.b, kMax);
  std::string first = pattern(32 * 1024, 1), second = pattern(20 * 1024, 2);
  old_channel.append(MessageType::Message, 1, 0, 0, first);   // queued with the ring's attach message
  old_channel.append(MessageType::Message, 2, 0, 0, "small");
  old_channel.append(MessageType::Message, 3, 0, 0, second);
  size_t dropped = 99;
  std::string unsent = old_channel.take_unsent(dropped);
  CHECK(dropped == 0);
  CHECK(old_channel.pending() == 0);

  Pair p2;
  Channel successor(p2.a, kMax, wsd::ipc::kLargePayloadRing);
  Channel new_reader(p2.b, kMax);
  successor.prepend_pending(unsent);
  successor.append(MessageType::Message, 4, 0, 0, pattern(16 * 1024, 4));  // through the successor's own ring
  CHECK(successor.flush() == Channel::IoResult::Ok);
  std::vector<Received> got = read_all(new_reader, 4);
  REQUIRE(got.size() == 4);
  CHECK(got[0].payload == first);
  CHECK(got[1].payload == "small");
  CHECK(got[2].payload == second);
  CHECK(got[3].payload == pattern(16 * 1024, 4));
  for (size_t i = 0; i < 4; ++i) CHECK(got[i].conn == i + 1);
}

TEST_CASE("echo from inside the callback lends the region back") {
  Pair p;
  Channel reactor(p.a, kMax, wsd::ipc::kLargePayloadRing);
  Channel worker(p.b, kMax, wsd::ipc::kLargePayloadRing);
  auto echo_all = [&] {
    for (int i = 0; i < 100; ++i) {
      Channel::IoResult r = worker.read_messages([&](const MessageHeader& h, std::string_view payload) {
        worker.append(MessageType::Push, h.conn, h.aux, 0, payload);
      });
      worker.flush();
      if (r != Channel::IoResult::Ok) break;
    }
  };
  SUBCASE("one at a time, many times round the ring") {
    for (unsigned i = 0; i < 200; ++i) {
      std::string m = pattern(48 * 1024 + i * 8, i);
      reactor.append(MessageType::Message, i, 0, 0, m);
      reactor.flush();
      echo_all();
      CHECK(queued_in_socket(p.a) < 128);   // a reference came back, not 48 KiB
      std::vector<Received> got = read_all(reactor, 1);
      REQUIRE(got.size() == 1);
      CHECK(got[0].type == MessageType::Push);
      CHECK(got[0].conn == i);
      CHECK(got[0].payload == m);
    }
  }
  SUBCASE("the echoes wait while the reactor keeps sending: held regions are not overwritten") {
    std::vector<std::string> sent;
    for (unsigned i = 0; i < 60; ++i) {   // 3.75 MiB through a 2 MiB ring
      sent.push_back(pattern(64 * 1024, i));
      reactor.append(MessageType::Message, i, 0, 0, sent.back());
      reactor.flush();
      echo_all();
    }
    std::vector<Received> got = read_all(reactor, sent.size());
    REQUIRE(got.size() == sent.size());
    for (size_t i = 0; i < sent.size(); ++i) {
      CHECK(got[i].conn == i);
      CHECK(got[i].payload == sent[i]);
    }
    // Every loan returned: the ring is used again from the front.
    reactor.append(MessageType::Message, 99, 0, 0, pattern(64 * 1024, 99));
    reactor.flush();
    CHECK(queued_in_socket(p.b) < 128);
  }
}

TEST_CASE("slices of one message lent back in any order stay intact while the writer goes on") {
  Pair p;
  Channel reactor(p.a, kMax, wsd::ipc::kLargePayloadRing);
  Channel worker(p.b, kMax, wsd::ipc::kLargePayloadRing);
  // A first message, still unread when the second is written, puts the
  // second at an odd place in the ring (an empty ring starts at its front).
  reactor.append(MessageType::Message, 0, 0, 0, pattern(100 * 1024 + 12, 0));
  const std::string m = pattern(64 * 1024, 7);
  reactor.append(MessageType::Message, 1, 0, 0, m);
  reactor.flush();
  // The worker sends back the tail of the second first, then the whole of
  // it (a plugin that strips a header for one client and forwards
  // everything to another).
  size_t read = 0;
  for (int i = 0; i < 100 && read < 2; ++i) {
    worker.read_messages([&](const MessageHeader& h, std::string_view payload) {
      ++read;
      if (h.conn != 1) return;
      worker.append(MessageType::Push, 2, 0, 0, payload.substr(8 * 1024));
      worker.append(MessageType::Push, 3, 0, 0, payload);
    });
  }
  worker.flush();
  CHECK(queued_in_socket(p.a) < 128);   // both went back as loans
  // Before reading them, the reactor writes 2.9 MB more, through its ring
  // where it may (odd sizes, so that regions end anywhere), else the socket;
  // the worker reads and releases everything.
  for (unsigned i = 0; i < 60; ++i) {
    reactor.append(MessageType::Message, 100 + i, 0, 0, pattern(20 * 1024 + 997 * i, 100 + i));
    reactor.flush();
    for (int k = 0; k < 100; ++k) {
      Channel::IoResult r = worker.read_messages([&](const MessageHeader&, std::string_view) {});
      if (r != Channel::IoResult::Ok) break;
    }
  }
  std::vector<Received> got = read_all(reactor, 2);
  REQUIRE(got.size() == 2);
  CHECK(got[0].conn == 2);
  CHECK(got[0].payload == m.substr(8 * 1024));
  CHECK(got[1].conn == 3);
  CHECK(got[1].payload == m);
}

TEST_CASE("a reservation given back leaves no gap in the ring") {
  Pair p;
  Channel reactor(p.a, kMax, wsd::ipc::kLargePayloadRing);
  Channel worker(p.b, kMax);
  // Far more than the ring, reserved and never sent (refused messages).
  for (int i = 0; i < 40; ++i) {
    uint64_t pos = 0;
    REQUIRE(reactor.reserve_payload(500 * 1024, pos) != nullptr);
    reactor.cancel_reserved(pos, 500 * 1024);
  }
  // The ring still carries the next large message.
  const std::string m = pattern(64 * 1024, 3);
  reactor.append(MessageType::Message, 1, 0, 0, m);
  reactor.flush();
  CHECK(queued_in_socket(p.b) < 128);
  std::vector<Received> got = read_all(worker, 1);
  REQUIRE(got.size() == 1);
  CHECK(got[0].payload == m);
}

namespace {
void write_raw(int fd, MessageType type, std::string_view payload) {
  MessageHeader h{};
  h.size = static_cast<uint32_t>(wsd::ipc::kHeaderSize + payload.size());
  h.type = type;
  std::string bytes(reinterpret_cast<const char*>(&h), sizeof h);
  bytes.append(payload);
  REQUIRE(write(fd, bytes.data(), bytes.size()) == static_cast<ssize_t>(bytes.size()));
}
}  // namespace

TEST_CASE("a broken peer: ring references without a ring, attach without a descriptor") {
  wsd::ipc::RingRef ref{0, 100, 0};
  std::string_view ref_bytes(reinterpret_cast<const char*>(&ref), sizeof ref);
  auto in_ring = static_cast<MessageType>(static_cast<uint8_t>(MessageType::Message) | wsd::ipc::kInSharedRing);
  // One raw message on a fresh channel: the reader must call the stream broken.
  auto expect_broken = [](MessageType type, std::string_view payload) {
    Pair p;
    Channel reader(p.b, kMax);
    write_raw(p.a, type, payload);
    Channel::IoResult r{};
    CHECK(read_all(reader, 1, &r).empty());
    CHECK(r == Channel::IoResult::Error);
    close(p.a);
  };
  SUBCASE("reference before any attach") { expect_broken(in_ring, ref_bytes); }
  SUBCASE("attach with no descriptor") { expect_broken(MessageType::RingAttach, {}); }
  SUBCASE("reference outside the ring, or of the wrong size") {
    Pair p;
    Channel writer(p.a, kMax, wsd::ipc::kLargePayloadRing);
    Channel reader(p.b, kMax);
    writer.append(MessageType::Message, 1, 0, 0, pattern(8 * 1024, 1));  // sets up the ring
    writer.flush();
    REQUIRE(read_all(reader, 1).size() == 1);
    wsd::ipc::RingRef bad{wsd::ipc::kLargePayloadRing - 10, 100, 0};  // crosses the end
    std::string_view bad_bytes(reinterpret_cast<const char*>(&bad), sizeof bad);
    bool short_ref = false;
    SUBCASE("crosses the end") {}
    SUBCASE("short") { short_ref = true; }
    write_raw(p.a, in_ring, short_ref ? bad_bytes.substr(0, 8) : bad_bytes);
    Channel::IoResult r{};
    CHECK(read_all(reader, 1, &r).empty());
    CHECK(r == Channel::IoResult::Error);
  }
}

TEST_CASE("SharedRing: a loan holds its bytes whatever order slices are lent in") {
  auto ring = wsd::ipc::SharedRing::create(64 * 1024);
  REQUIRE(ring);
  uint64_t r0 = 0, r1 = 0, x = 0;
  REQUIRE(ring->reserve(10 * 1024, r0) != nullptr);
  REQUIRE(ring->reserve(16 * 1024, r1) != nullptr);   // [10K, 26K)
  ring->release(r0 + 10 * 1024);
  // Reading r1: a slice from 8 KiB on goes back first, then all of it.
  ring->lend(r1 + 8 * 1024);
  ring->lend(r1);
  ring->release(r1 + 16 * 1024);
  REQUIRE(ring->reserve(38 * 1024, x) != nullptr);    // [26K, 64K)
  // The front, [64K, 80K), would overwrite r1's first bytes: refused.
  CHECK(ring->reserve(16 * 1024, x) == nullptr);
  ring->return_loan();
  ring->return_loan();
  ring->release(r1 + 16 * 1024);                      // the reader sees them back
  CHECK(ring->reserve(16 * 1024, x) != nullptr);
}

TEST_CASE("SharedRing refuses what would overwrite unread bytes") {
  auto ring = wsd::ipc::SharedRing::create(64 * 1024);
  REQUIRE(ring);
  uint64_t a = 0, b = 0, c = 0;
  REQUIRE(ring->reserve(40 * 1024, a) != nullptr);
  CHECK(ring->reserve(40 * 1024, b) == nullptr);   // only 24 KiB left
  ring->release(a + 40 * 1024);
  REQUIRE(ring->reserve(40 * 1024, b) != nullptr);  // empty: starts at the front again
  CHECK(b == 64 * 1024);
  CHECK(ring->reserve(30 * 1024, c) == nullptr);    // 24 KiB free
  REQUIRE(ring->reserve(20 * 1024, c) != nullptr);
  CHECK(c == b + 40 * 1024);
  ring->release(b + 40 * 1024);                     // 20 KiB unread at 40..60 KiB
  uint64_t d = 0;
  REQUIRE(ring->reserve(30 * 1024, d) != nullptr);  // would cross the end: from the front
  CHECK(d == 2 * 64 * 1024);
  CHECK(ring->reserve(20 * 1024, c) == nullptr);    // 10 KiB left before the unread bytes
  CHECK(wsd::ipc::SharedRing::create(1000) == nullptr);  // not a power of two
}
