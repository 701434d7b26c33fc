// A worker that crashes: BASE mode respawns it (its connections are lost, as
// documented); the server keeps serving everyone else.
#include <doctest/doctest.h>

#include <chrono>
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
  CHECK(server.log().find("killed by signal 11") != std::string::npos);
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
