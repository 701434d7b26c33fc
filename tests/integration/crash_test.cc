// A worker that crashes: BASE mode respawns it (its connections are lost, as
// documented); the server keeps serving everyone else.
#include <doctest/doctest.h>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <memory>
#include <vector>
#include <thread>

#include "test_helpers.h"
#include "ws_client.h"
#include "wsd_server.h"

using namespace wsd::test;

TEST_CASE("BASE mode: a crashed worker is respawned and the server keeps serving") {
  if (!base_mode()) return;  // PROCESS mode keeps the connections: see the operations tests
  WsdServer server({probe_config("worker_num: 1\n")});
  REQUIRE_MESSAGE(server.started(), server.log());
  REQUIRE(server.wait_event_count("worker_start", 1) == 1);
  WsClient victim;
  REQUIRE(victim.open(server.port(), "/"));
  REQUIRE(victim.send_text("crash"));
  CHECK(victim.wait_eof());  // its connections die with it: the price of BASE mode
  CHECK(server.wait_event_count("worker_start", 2, std::chrono::milliseconds(5000)) == 2);
  // SIGSEGV normally; under ASan its handler reports and aborts instead.
  CHECK(server.log().find("worker 0 (pid") != std::string::npos);
  // The respawned worker accepts on the same port.
  WsClient after;
  bool opened = false;
  for (int i = 0; i < 50 && !opened; ++i) {
    opened = after.open(server.port(), "/");
    if (!opened) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  REQUIRE(opened);
  REQUIRE(after.send_text("still here"));
  CHECK(receive_text(after) == "still here");
}

TEST_CASE("PROCESS mode: a worker that crashes is respawned and its connections stay open") {
  if (base_mode()) return;
  WsdServer server({probe_config("worker_num: 1\n")});
  REQUIRE_MESSAGE(server.started(), server.log());
  WsClient a, b;
  REQUIRE(a.open(server.port(), "/"));
  REQUIRE(b.open(server.port(), "/echo"));
  uint64_t aid = whoami(a).id;
  REQUIRE(a.send_text("crash"));
  REQUIRE(server.wait_event_count("worker_start", 2, std::chrono::milliseconds(5000)) == 2);
  // SIGSEGV normally; under ASan its handler reports and aborts instead.
  CHECK(server.log().find("worker 0 (pid") != std::string::npos);
  // Nobody was disconnected: the successor serves both connections.
  CHECK(whoami(a).id == aid);
  REQUIRE(b.send_text("after the crash"));
  CHECK(receive_text(b) == "after the crash");
  // And the close of a connection still reaches the plugin exactly once.
  a.close();
  CHECK(close_events(server, aid).size() == 1);
}

TEST_CASE("PROCESS mode: kill -9 of a worker under load closes no client connection") {
  if (base_mode()) return;
  WsdServer server({probe_config("worker_num: 2\n")});
  REQUIRE_MESSAGE(server.started(), server.log());
  std::vector<std::unique_ptr<WsClient>> clients;
  for (int i = 0; i < 6; ++i) {
    clients.push_back(std::make_unique<WsClient>());
    REQUIRE(clients.back()->open(server.port(), "/echo"));
  }
  // Find the workers' pids: the master's children.
  std::vector<int> pids;
  std::string cmd = "pgrep -P " + std::to_string(server.pid());
  FILE* p = popen(cmd.c_str(), "r");
  int pid;
  while (p && fscanf(p, "%d", &pid) == 1) pids.push_back(pid);
  if (p) pclose(p);
  REQUIRE(pids.size() == 2);
  int answered = 0;
  for (int round = 0; round < 20; ++round) {
    if (round == 5) kill(pids[0], SIGKILL);
    for (auto& c : clients) {
      REQUIRE(c->send_text("m" + std::to_string(round)));
    }
    for (auto& c : clients) {
      Received r = c->receive();
      // A message the dead worker had taken may be lost (and counted), but
      // the connection must stay open.
      REQUIRE_MESSAGE(r.kind != Received::Eof, "a client connection was closed");
      if (r.kind == Received::Message) answered++;
      if (r.kind == Received::Timeout) c->set_timeout(std::chrono::milliseconds(5000));
    }
  }
  CHECK(answered >= 6 * 20 - 6);
  CHECK(server.wait_event_count("worker_start", 3, std::chrono::milliseconds(5000)) >= 3);
}
