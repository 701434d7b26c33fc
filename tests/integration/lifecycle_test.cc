// The worker's loop (timers, defer, the plugin's config) and the server's
// life: graceful stop with clients connected.
#include <doctest/doctest.h>

#include <signal.h>

#include <memory>
#include <thread>
#include <vector>

#include "test_helpers.h"
#include "ws_client.h"
#include "wsd_server.h"

using namespace wsd::test;
using namespace std::chrono_literals;

TEST_CASE("timers and defer run on the worker's loop") {
  WsdServer server({probe_config()});
  REQUIRE_MESSAGE(server.started(), server.log());
  WsClient c;
  REQUIRE(c.open(server.port(), "/"));

  auto start = std::chrono::steady_clock::now();
  REQUIRE(c.send_text("after 50"));
  CHECK(receive_text(c) == "timer 50");
  CHECK(std::chrono::steady_clock::now() - start >= 45ms);

  REQUIRE(c.send_text("tick 20 3"));
  CHECK(receive_text(c) == "tick 3");
  CHECK(receive_text(c) == "tick 2");
  CHECK(receive_text(c) == "tick 1");
  c.set_timeout(150ms);
  Received r = c.receive();
  CHECK_MESSAGE(r.kind == Received::Timeout, describe(r));   // cleared after 3
  c.set_timeout(5000ms);

  // Deferred work runs after the current event.
  REQUIRE(c.send_text("defer"));
  CHECK(receive_text(c) == "deferring");
  CHECK(receive_text(c) == "deferred");

  // Two timers at once, the shorter first.
  REQUIRE(c.send_text("after 120"));
  REQUIRE(c.send_text("after 30"));
  CHECK(receive_text(c) == "timer 30");
  CHECK(receive_text(c) == "timer 120");
}

TEST_CASE("a timer pushing to a connection that closed meanwhile does no harm") {
  WsdServer server({probe_config()});
  REQUIRE_MESSAGE(server.started(), server.log());
  WsClient a;
  REQUIRE(a.open(server.port(), "/"));
  uint64_t id = whoami(a).id;
  REQUIRE(a.send_text("tick 10 20"));
  CHECK(receive_text(a) == "tick 20");
  a.close();
  CHECK(close_events(server, id).size() == 1);
  std::this_thread::sleep_for(250ms);   // the remaining ticks fire into a closed id
  WsClient b;
  REQUIRE(b.open(server.port(), "/"));
  CHECK(whoami(b).id != 0);
}

TEST_CASE("the plugin reads its own config subtree") {
  WsdServer server({probe_config()});
  REQUIRE_MESSAGE(server.started(), server.log());
  WsClient c;
  REQUIRE(c.open(server.port(), "/"));
  CHECK(ask(c, "config greeting") == "config hello");
  CHECK(ask(c, "config nothing.here") == "config <none>");
}

TEST_CASE("graceful stop: SIGTERM closes each of 100 clients with 1001, wsd exits 0, the plugin sees each close") {
  WsdServer server({probe_config("worker_num: 2\n")});
  REQUIRE_MESSAGE(server.started(), server.log());
  std::vector<std::unique_ptr<WsClient>> clients;
  std::vector<uint64_t> ids;
  for (int i = 0; i < 100; ++i) {
    clients.push_back(std::make_unique<WsClient>());
    REQUIRE(clients.back()->open(server.port(), "/"));
    ids.push_back(whoami(*clients.back()).id);
    REQUIRE(ids.back() != 0);
  }
  REQUIRE(kill(server.pid(), SIGTERM) == 0);
  for (auto& c : clients) {
    Received r = c->receive();
    REQUIRE_MESSAGE(r.kind == Received::Close, describe(r));
    CHECK(r.code == 1001);
    REQUIRE(c->send_close(1001));
    CHECK(c->wait_eof());
  }
  CHECK(server.wait_exit(10000ms) == 0);
  for (uint64_t id : ids) {
    auto closes = event_lines(server, "close " + std::to_string(id) + " ");
    CHECK_MESSAGE(closes.size() == 1, id);
    if (!closes.empty()) CHECK_MESSAGE(contains(closes[0], "code=1001 by_server=1"), closes[0]);
  }
  CHECK(event_lines(server, "worker_stop").size() == 2);
  // worker_stop comes after the last close event of that worker.
  auto all = server.events();
  for (size_t i = 0; i < all.size(); ++i) {
    if (all[i].rfind("worker_stop", 0) != 0) continue;
    std::string worker = all[i].substr(all[i].find("worker="));
    for (size_t j = i + 1; j < all.size(); ++j)
      CHECK_MESSAGE(!(all[j].rfind("close ", 0) == 0 && contains(all[j], worker)), all[j]);
  }
  CHECK(contains(server.log(), "wsd stopped"));
}

TEST_CASE("graceful stop: a client that never answers the close is cut off after shutdown_timeout") {
  WsdServer server({probe_config("shutdown_timeout: 300ms\n")});
  REQUIRE_MESSAGE(server.started(), server.log());
  WsClient quiet, polite;
  REQUIRE(quiet.open(server.port(), "/"));
  REQUIRE(polite.open(server.port(), "/"));
  uint64_t qid = whoami(quiet).id, pid = whoami(polite).id;
  // A plain HTTP connection in the middle of a request is closed too.
  WsClient http;
  REQUIRE(http.connect(server.port()));
  REQUIRE(http.send_raw("GET / HTTP/1.1\r\n"));
  auto start = std::chrono::steady_clock::now();
  REQUIRE(kill(server.pid(), SIGTERM) == 0);
  Received r = polite.receive();
  REQUIRE_MESSAGE(r.kind == Received::Close, describe(r));
  REQUIRE(polite.send_close(1001));
  r = quiet.receive();
  REQUIRE_MESSAGE(r.kind == Received::Close, describe(r));
  CHECK(r.code == 1001);
  // ... and says nothing back.
  CHECK(server.wait_exit(10000ms) == 0);
  CHECK(std::chrono::steady_clock::now() - start < 3s);
  CHECK(quiet.wait_eof());
  CHECK(http.wait_eof());
  for (uint64_t id : {qid, pid}) {
    auto closes = event_lines(server, "close " + std::to_string(id) + " ");
    CHECK_MESSAGE(closes.size() == 1, id);
    if (!closes.empty()) CHECK_MESSAGE(contains(closes[0], "code=1001 by_server=1"), closes[0]);
  }
  CHECK(event_lines(server, "worker_stop").size() == 2);
}

// The stop deadline may pass while other traffic keeps the reactor busy (here
// the unanswering client itself keeps sending): whoever is left is cut off,
// and still gets its close event.
TEST_CASE("graceful stop: clients left at the stop deadline still get their close event") {
  WsdServer server({probe_config("shutdown_timeout: 300ms\n")});
  REQUIRE_MESSAGE(server.started(), server.log());
  WsClient chatty;
  REQUIRE(chatty.open(server.port(), "/"));
  uint64_t id = whoami(chatty).id;
  REQUIRE(kill(server.pid(), SIGTERM) == 0);
  Received r = chatty.receive();
  REQUIRE_MESSAGE(r.kind == Received::Close, describe(r));
  // Pings, never the close reply, until the server hangs up.
  auto start = std::chrono::steady_clock::now();
  while (std::chrono::steady_clock::now() - start < 3s && chatty.send_frame(9, "still here")) {
    std::this_thread::sleep_for(20ms);
  }
  CHECK(server.wait_exit(10000ms) == 0);
  auto closes = event_lines(server, "close " + std::to_string(id) + " ");
  CHECK(closes.size() == 1);
  if (!closes.empty()) CHECK_MESSAGE(contains(closes[0], "code=1001 by_server=1"), closes[0]);
  CHECK(event_lines(server, "worker_stop").size() == 2);
}
