// Limits and heartbeats enforced by the reactor: idle connections closed
// (heartbeat_check_interval / heartbeat_idle_time / heartbeat_ping),
// max_message_rate, buffer_output_close, max_connection_per_ip and
// handshake_rate_per_ip.
#include <doctest/doctest.h>

#include <chrono>
#include <memory>
#include <string>
#include <thread>

#include "test_helpers.h"
#include "ws_client.h"
#include "wsd_server.h"

using namespace wsd::test;
using Clock = std::chrono::steady_clock;

namespace {
double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}
}  // namespace

TEST_CASE("heartbeat: a silent connection is closed with heartbeat_close_code, a busy one stays") {
  WsdServer server({probe_config("heartbeat_check_interval: 200ms\nheartbeat_idle_time: 500ms\n"
                                 "heartbeat_close_code: 4000\n")});
  REQUIRE_MESSAGE(server.started(), server.log());
  WsClient idle(std::chrono::milliseconds(3000));
  WsClient busy;
  REQUIRE(idle.open(server.port()));
  REQUIRE(busy.open(server.port()));
  uint64_t idle_id = whoami(idle).id;
  uint64_t busy_id = whoami(busy).id;
  REQUIRE(idle_id != 0);
  REQUIRE(busy_id != 0);
  auto start = Clock::now();
  std::thread chatter([&] {
    while (seconds_since(start) < 1.5) {
      if (ask(busy, "alive") != "alive") break;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  });
  Received r = idle.receive();
  double elapsed = seconds_since(start);
  chatter.join();
  CHECK(ask(busy, "still here") == "still here");
  REQUIRE_MESSAGE(r.kind == Received::Close, describe(r));
  CHECK(r.code == 4000);
  CHECK_MESSAGE(elapsed < 2.0, "closed after " << elapsed << "s");
  idle.send_close(r.code);
  auto closes = close_events(server, idle_id);
  REQUIRE(closes.size() == 1);
  CHECK_MESSAGE(contains(closes[0], "code=4000 by_server=1"), closes[0]);
  CHECK(event_lines(server, "close " + std::to_string(busy_id) + " ").empty());
}

TEST_CASE("heartbeat_ping: an idle client is pinged, and answering keeps it open") {
  WsdServer server({probe_config("heartbeat_check_interval: 100ms\nheartbeat_idle_time: 600ms\n"
                                 "heartbeat_ping: true\n")});
  REQUIRE_MESSAGE(server.started(), server.log());
  WsClient c(std::chrono::milliseconds(2000));
  REQUIRE(c.open(server.port()));
  auto start = Clock::now();
  int pings = 0;
  while (seconds_since(start) < 2.0) {
    Received r = c.receive();
    REQUIRE_MESSAGE(r.kind == Received::Ping, describe(r));
    ++pings;
    REQUIRE(c.send_frame(0xA, r.data));
  }
  CHECK(pings >= 2);
  CHECK(ask(c, "alive") == "alive");
}

TEST_CASE("max_message_rate: a client above it is closed with 1008") {
  WsdServer server({probe_config("max_message_rate: 20\n")});
  REQUIRE_MESSAGE(server.started(), server.log());
  WsClient c;
  REQUIRE(c.open(server.port()));
  uint64_t id = whoami(c).id;
  REQUIRE(id != 0);
  std::string burst;
  for (int i = 0; i < 100; ++i) burst += WsClient::frame_bytes(1, "m" + std::to_string(i));
  REQUIRE(c.send_raw(burst));
  Received r;
  int echoes = 0;
  for (;;) {
    r = c.receive();
    if (r.kind != Received::Message) break;
    ++echoes;
  }
  REQUIRE_MESSAGE(r.kind == Received::Close, describe(r));
  CHECK(r.code == 1008);
  CHECK(echoes <= 20);
  c.send_close(1008);
  auto closes = close_events(server, id);
  REQUIRE(closes.size() == 1);
  CHECK_MESSAGE(contains(closes[0], "code=1008 by_server=1"), closes[0]);
}

TEST_CASE("buffer_output_close: pushes beyond the output bound close the slow connection with 1008") {
  WsdServer server({probe_config("buffer_output_size: 64K\nbuffer_output_close: true\nworker_num: 1\n"
                                 "shutdown_timeout: 1s\n")});
  REQUIRE_MESSAGE(server.started(), server.log());
  WsClient slow;
  WsClient pusher(std::chrono::milliseconds(10000));
  REQUIRE(slow.open(server.port()));
  REQUIRE(pusher.open(server.port()));
  uint64_t sid = whoami(slow).id;
  REQUIRE(sid != 0);
  // `slow` never reads. The pushes come in one burst, so that they reach the
  // reactor before the worker sees the buffer fill; 7.5 MB, more than the
  // kernel's socket buffers take (a large frame goes to the socket at once
  // while nothing waits before it: only what the kernel refuses is queued).
  std::string burst;
  constexpr int kPushes = 250;
  for (int i = 0; i < kPushes; ++i) burst += WsClient::frame_bytes(1, "pushbin " + std::to_string(sid) + " 30000");
  REQUIRE(pusher.send_raw(burst));
  int refused = 0;
  for (int i = 0; i < kPushes; ++i) {
    std::string rc = receive_text(pusher);
    if (rc != "push 0") ++refused;
  }
  // The worker's own check (plugin_api.cc) answers -4 without telling the
  // reactor; the pushes that reach the reactor over the bound close it.
  (void)refused;
  auto closes = settled_events(server, "close " + std::to_string(sid) + " ", std::chrono::milliseconds(5000));
  REQUIRE_MESSAGE(closes.size() == 1, server.log());
  CHECK_MESSAGE(contains(closes[0], "code=1008 by_server=1"), closes[0]);
  CHECK(ask(pusher, "unaffected") == "unaffected");
}

TEST_CASE("max_connection_per_ip: one more connection from the same IP gets HTTP 503") {
  // The per-IP counts are kept per reactor (per worker in BASE mode): one of each here.
  WsdServer server({probe_config("max_connection_per_ip: 2\nreactor_num: 1\n" +
                                 std::string(base_mode() ? "worker_num: 1\n" : ""))});
  REQUIRE_MESSAGE(server.started(), server.log());
  WsClient a, b;
  REQUIRE(a.open(server.port()));
  REQUIRE(b.open(server.port()));
  {
    WsClient third;
    REQUIRE(third.connect(server.port()));
    HttpReply r = third.handshake("/");
    CHECK(r.status == 503);
  }
  CHECK(ask(a, "unaffected") == "unaffected");
  // once one is gone, a new one is accepted again
  b.send_close(1000);
  CHECK(b.receive().kind == Received::Close);
  b.wait_eof();
  b.close();  // the client's end of the TCP close; the server was waiting for it
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  WsClient c;
  REQUIRE(c.open(server.port()));
  CHECK(ask(c, "again") == "again");
}

TEST_CASE("handshake_rate_per_ip: a burst of handshakes sees HTTP 429") {
  WsdServer server({probe_config("handshake_rate_per_ip: 5\nreactor_num: 1\n" +
                                 std::string(base_mode() ? "worker_num: 1\n" : ""))});
  REQUIRE_MESSAGE(server.started(), server.log());
  int ok = 0, limited = 0;
  std::vector<std::unique_ptr<WsClient>> clients;
  for (int i = 0; i < 20; ++i) {
    auto c = std::make_unique<WsClient>();
    if (!c->connect(server.port())) continue;
    HttpReply r = c->handshake("/");
    if (r.status == 101) ++ok;
    if (r.status == 429) ++limited;
    clients.push_back(std::move(c));
  }
  CHECK(ok >= 1);
  CHECK(limited >= 1);
}
