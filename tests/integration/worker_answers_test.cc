// How a reactor gets its workers' answers (PROCESS mode: it waits briefly for
// a quick worker's answers so that they leave in the same loop iteration, in
// the order the messages came; daemon/dispatch.cc, collect_answers). Run in
// BASE mode too, where each worker answers its own connections.
#include <doctest/doctest.h>

#include <poll.h>

#include <memory>
#include <string>
#include <vector>

#include "test_helpers.h"
#include "ws_client.h"
#include "wsd_server.h"

using namespace wsd::test;

namespace {
// True when `c` has bytes to read right now.
bool readable_now(const WsClient& c) {
  pollfd p{c.fd(), POLLIN, 0};
  return ::poll(&p, 1, 0) == 1;
}
}  // namespace

TEST_CASE("worker answers: a worker blocked in its plugin does not hold back another worker's connections") {
  WsdServer server({probe_config("worker_num: 2\ndispatch_mode: 2\n")});
  REQUIRE_MESSAGE(server.started(), server.log());
  std::vector<std::unique_ptr<WsClient>> clients;
  std::vector<Whoami> who;
  const Pair pair = on_two_workers(server, clients, who);
  REQUIRE_MESSAGE(pair.b >= 0, "all connections landed on one worker");
  WsClient& blocked = *clients[pair.a];
  WsClient& other = *clients[pair.b];

  // The blocked worker's batch is waited for once, briefly (the wait is
  // bounded); after that it has events in flight and gets no new batch to
  // wait for, and the other worker's answers leave at once, many times over,
  // while the first still sleeps. (When a worker counts as slow is
  // tests/unit/daemon/answer_timing_test.cc's.)
  REQUIRE(blocked.send_text("sleep 4000"));
  for (int i = 0; i < 200; ++i) {
    std::string text = "round " + std::to_string(i);
    REQUIRE(other.send_text(text));
    Received r = other.receive();
    REQUIRE_MESSAGE(r.kind == Received::Message, describe(r));
    REQUIRE(r.data == text);
  }
  CHECK_FALSE(readable_now(blocked));   // its worker is still asleep
  blocked.set_timeout(std::chrono::milliseconds(20000));
  CHECK(receive_text(blocked) == "slept");
  // Once awake, the worker is quick again and answers as before.
  CHECK(ask(blocked, "whoami") == "id " + std::to_string(who[pair.a].id) + " worker " + std::to_string(who[pair.a].worker));
  CHECK(ask(other, "again") == "again");
}

TEST_CASE("worker answers: answers of two workers written in one pass keep each connection's order") {
  WsdServer server({probe_config("worker_num: 2\ndispatch_mode: 2\n")});
  REQUIRE_MESSAGE(server.started(), server.log());
  constexpr int kClients = 16;
  constexpr int kMessages = 300;
  std::vector<std::unique_ptr<WsClient>> clients;
  for (int i = 0; i < kClients; ++i) {
    clients.push_back(std::make_unique<WsClient>());
    REQUIRE(clients.back()->open(server.port(), "/"));
  }
  // Every client sends all its messages before anyone reads: the reactor
  // reads many connections per iteration and gets answers from both workers
  // in the same pass, which it then writes in arrival order (moving whole
  // connections: each connection's own bytes must keep their order).
  for (int m = 0; m < kMessages; ++m) {
    for (int i = 0; i < kClients; ++i) {
      REQUIRE(clients[i]->send_text("c" + std::to_string(i) + " m" + std::to_string(m)));
    }
  }
  for (int i = 0; i < kClients; ++i) {
    CAPTURE(i);
    int in_order = 0;
    for (int m = 0; m < kMessages; ++m) {
      Received r = clients[i]->receive();
      if (r.kind != Received::Message) break;
      if (r.data == "c" + std::to_string(i) + " m" + std::to_string(m)) ++in_order;
    }
    CHECK(in_order == kMessages);
  }
}
