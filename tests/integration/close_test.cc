// Every way a WebSocket connection ends reaches the plugin's close event
// exactly once, with the right code, reason and by_server.
#include <doctest/doctest.h>

#include <functional>
#include <memory>
#include <thread>
#include <vector>

#include "test_helpers.h"
#include "ws_client.h"
#include "wsd_server.h"

using namespace wsd::test;
using namespace std::chrono_literals;

namespace {

// One close event for `id`, containing `expect`; the client saw the end.
void check_one_close(const WsdServer& server, uint64_t id, const std::string& expect) {
  auto closes = close_events(server, id);
  CHECK_MESSAGE(closes.size() == 1, "close events for " << id << ": " << closes.size());
  if (!closes.empty()) CHECK_MESSAGE(contains(closes[0], expect), closes[0]);
}

// Expects a close frame with `code` from the server, then the TCP close.
void expect_close_frame(WsClient& c, uint16_t code) {
  Received r = c.receive();
  REQUIRE_MESSAGE(r.kind == Received::Close, describe(r));
  CHECK(r.code == code);
  CHECK(c.wait_eof());
}

}  // namespace

TEST_CASE("close: the client closes with a code and reason") {
  WsdServer server({probe_config()});
  REQUIRE_MESSAGE(server.started(), server.log());

  WsClient c;
  REQUIRE(c.open(server.port(), "/"));
  uint64_t id = whoami(c).id;
  REQUIRE(id != 0);
  REQUIRE(c.send_close(4321, "done here"));
  Received r = c.receive();
  REQUIRE_MESSAGE(r.kind == Received::Close, describe(r));
  CHECK(r.code == 4321);   // the server echoes the code
  CHECK(c.wait_eof());
  check_one_close(server, id, "code=4321 by_server=0 reason=done here");

  // An empty close frame: answered with an empty one; the event says 1005.
  WsClient e;
  REQUIRE(e.open(server.port(), "/"));
  uint64_t eid = whoami(e).id;
  REQUIRE(e.send_frame(8, ""));
  r = e.receive();
  REQUIRE_MESSAGE(r.kind == Received::Close, describe(r));
  CHECK(r.code == 1005);   // our reader's name for "no status code"
  CHECK(e.wait_eof());
  check_one_close(server, eid, "code=1005 by_server=0");
}

TEST_CASE("close: disconnect from the plugin with a code and reason") {
  WsdServer server({probe_config()});
  REQUIRE_MESSAGE(server.started(), server.log());

  // The client answers the close handshake.
  WsClient c;
  REQUIRE(c.open(server.port(), "/"));
  uint64_t id = whoami(c).id;
  REQUIRE(c.send_text("disconnect 4001 bye"));
  Received r = c.receive();
  REQUIRE_MESSAGE(r.kind == Received::Close, describe(r));
  CHECK(r.code == 4001);
  CHECK(r.reason == "bye");
  REQUIRE(c.send_close(4001));
  CHECK(c.wait_eof());
  check_one_close(server, id, "code=4001 by_server=1 reason=bye");

  // The client drops the TCP connection instead of answering: the code sent stands.
  WsClient d;
  REQUIRE(d.open(server.port(), "/"));
  uint64_t did = whoami(d).id;
  REQUIRE(d.send_text("disconnect 1000"));
  r = d.receive();
  REQUIRE_MESSAGE(r.kind == Received::Close, describe(r));
  CHECK(r.code == 1000);
  CHECK(r.reason.empty());
  d.close();
  check_one_close(server, did, "code=1000 by_server=1");
}

TEST_CASE("close: disconnect with an invalid code or reason is refused and the connection stays") {
  WsdServer server({probe_config()});
  REQUIRE_MESSAGE(server.started(), server.log());
  WsClient c;
  REQUIRE(c.open(server.port(), "/"));
  uint64_t id = whoami(c).id;
  for (const char* code : {"1001", "1006", "3000", "999", "5000"}) {
    CAPTURE(code);
    CHECK(ask(c, std::string("disconnect ") + code + " bye") == "disconnect -5");
  }
  CHECK(ask(c, "disconnect 4000 " + std::string(126, 'r')) == "disconnect -5");
  CHECK(whoami(c).id == id);
  CHECK(event_lines(server, "close " + std::to_string(id) + " ").empty());
}

TEST_CASE("close: protocol errors close with 1002 and report by_server=1") {
  WsdServer server({probe_config()});
  REQUIRE_MESSAGE(server.started(), server.log());
  struct Case {
    const char* name;
    std::function<bool(WsClient&)> send;
  };
  const Case cases[] = {
      {"unmasked frame", [](WsClient& c) { return c.send_frame(1, "hi", true, false); }},
      {"reserved data opcode 3", [](WsClient& c) { return c.send_frame(3, "hi"); }},
      {"reserved control opcode 11", [](WsClient& c) { return c.send_frame(11, ""); }},
      {"RSV1 without deflate", [](WsClient& c) { return c.send_frame(1, "hi", true, true, true); }},
      // FIN + RSV2 + text, masked, empty.
      {"RSV2", [](WsClient& c) { return c.send_raw(std::string("\xA1\x80\x01\x02\x03\x04", 6)); }},
      // FIN + RSV3 + binary, masked, empty.
      {"RSV3", [](WsClient& c) { return c.send_raw(std::string("\x92\x80\x01\x02\x03\x04", 6)); }},
      {"fragmented ping", [](WsClient& c) { return c.send_frame(9, "x", false); }},
      {"continuation without a message", [](WsClient& c) { return c.send_frame(0, "x"); }},
      {"close code 1004", [](WsClient& c) { return c.send_close(1004); }},
  };
  std::vector<std::pair<const char*, uint64_t>> ids;
  for (const Case& k : cases) {
    CAPTURE(k.name);
    WsClient c;
    REQUIRE(c.open(server.port(), "/"));
    uint64_t id = whoami(c).id;
    REQUIRE(id != 0);
    REQUIRE(k.send(c));
    expect_close_frame(c, 1002);
    ids.emplace_back(k.name, id);
  }
  // One settle for all of them.
  std::this_thread::sleep_for(200ms);
  for (const auto& entry : ids) {
    const std::string& name = entry.first;  // (clang 14: CAPTURE cannot name a structured binding)
    uint64_t id = entry.second;
    CAPTURE(name);
    auto closes = event_lines(server, "close " + std::to_string(id) + " ");
    REQUIRE(closes.size() == 1);
    CHECK_MESSAGE(contains(closes[0], "code=1002 by_server=1"), closes[0]);
  }
}

TEST_CASE("close: invalid UTF-8 closes with 1007, already on the first fragment") {
  WsdServer server({probe_config()});
  REQUIRE_MESSAGE(server.started(), server.log());

  WsClient c;
  REQUIRE(c.open(server.port(), "/"));
  uint64_t id = whoami(c).id;
  REQUIRE(c.send_text("bad \xC0\xAF byte"));   // overlong '/'
  expect_close_frame(c, 1007);
  check_one_close(server, id, "code=1007 by_server=1");

  // Fail fast: the close comes while the message is still unfinished.
  WsClient f;
  REQUIRE(f.open(server.port(), "/"));
  uint64_t fid = whoami(f).id;
  REQUIRE(f.send_frame(1, "ok so far \xFF then more", false));
  Received r = f.receive();
  REQUIRE_MESSAGE(r.kind == Received::Close, describe(r));
  CHECK(r.code == 1007);
  f.send_frame(0, "the rest", true);   // may fail: the server is closing
  CHECK(f.wait_eof());
  check_one_close(server, fid, "code=1007 by_server=1");

  // A close reason that is not UTF-8.
  WsClient g;
  REQUIRE(g.open(server.port(), "/"));
  uint64_t gid = whoami(g).id;
  REQUIRE(g.send_close(1000, "bad \xFF"));
  expect_close_frame(g, 1007);
  check_one_close(server, gid, "code=1007 by_server=1");
}

TEST_CASE("close: a message over package_max_length closes with 1009") {
  WsdServer server({probe_config(), {"--set", "package_max_length=1K"}});
  REQUIRE_MESSAGE(server.started(), server.log());
  WsClient c;
  REQUIRE(c.open(server.port(), "/"));
  uint64_t id = whoami(c).id;
  REQUIRE(c.send_binary(pattern(1025, true)));
  expect_close_frame(c, 1009);
  check_one_close(server, id, "code=1009 by_server=1");
}

TEST_CASE("close: the TCP connection just ends (1006, by_server=0)") {
  WsdServer server({probe_config()});
  REQUIRE_MESSAGE(server.started(), server.log());
  WsClient c;
  REQUIRE(c.open(server.port(), "/"));
  uint64_t id = whoami(c).id;
  c.close();
  check_one_close(server, id, "code=1006 by_server=0");

  // In the middle of a fragmented message.
  WsClient m;
  REQUIRE(m.open(server.port(), "/"));
  uint64_t mid = whoami(m).id;
  REQUIRE(m.send_frame(1, "half a mess", false));
  m.close();
  check_one_close(server, mid, "code=1006 by_server=0");
}

TEST_CASE("close: the plugin's close() ends the TCP connection without a close frame") {
  WsdServer server({probe_config()});
  REQUIRE_MESSAGE(server.started(), server.log());
  WsClient c;
  REQUIRE(c.open(server.port(), "/"));
  uint64_t id = whoami(c).id;
  REQUIRE(c.send_text("close"));
  Received r = c.receive();
  CHECK_MESSAGE(r.kind == Received::Eof, describe(r));
  check_one_close(server, id, "by_server=1");
}

TEST_CASE("close: a message after the client's close frame is not delivered") {
  WsdServer server({probe_config()});
  REQUIRE_MESSAGE(server.started(), server.log());
  WsClient c;
  REQUIRE(c.open(server.port(), "/"));
  uint64_t id = whoami(c).id;
  // A command right behind the close frame must not run.
  REQUIRE(c.send_close(1000));
  REQUIRE(c.send_text("whoami"));
  expect_close_frame(c, 1000);
  check_one_close(server, id, "code=1000 by_server=0");
}

TEST_CASE("close: a client that never answers the server's close frame is cut off after the close timeout") {
  WsdServer server({probe_config("shutdown_timeout: 300ms\n")});
  REQUIRE_MESSAGE(server.started(), server.log());
  WsClient c;
  REQUIRE(c.open(server.port(), "/"));
  uint64_t id = whoami(c).id;
  auto start = std::chrono::steady_clock::now();
  REQUIRE(c.send_text("disconnect 4002 no answer"));
  Received r = c.receive();
  REQUIRE_MESSAGE(r.kind == Received::Close, describe(r));
  CHECK(r.code == 4002);
  // Data the client still sends is dropped, not delivered.
  REQUIRE(c.send_text("whoami"));
  CHECK(c.wait_eof());
  CHECK(std::chrono::steady_clock::now() - start < 2500ms);
  check_one_close(server, id, "code=4002 by_server=1 reason=no answer");
}

TEST_CASE("close: many connections closing at once each report exactly once") {
  WsdServer server({probe_config("worker_num: 2\nreactor_num: 2\n")});
  REQUIRE_MESSAGE(server.started(), server.log());
  std::vector<std::unique_ptr<WsClient>> clients;
  std::vector<uint64_t> ids;
  for (int i = 0; i < 12; ++i) {
    clients.push_back(std::make_unique<WsClient>());
    REQUIRE(clients.back()->open(server.port(), "/"));
    ids.push_back(whoami(*clients.back()).id);
  }
  // Four ways, interleaved.
  for (size_t i = 0; i < clients.size(); ++i) {
    WsClient& c = *clients[i];
    switch (i % 4) {
      case 0: c.send_close(1000, "bye"); break;
      case 1: c.close(); break;
      case 2: c.send_text("disconnect 4003"); break;
      case 3: c.send_text("close"); break;
    }
  }
  for (size_t i = 0; i < clients.size(); ++i) {
    if (i % 4 == 1) continue;
    WsClient& c = *clients[i];
    Received r = c.receive();
    if (r.kind == Received::Close && i % 4 == 2) c.send_close(4003);
    CHECK(c.wait_eof());
  }
  // The abrupt ones (i % 4 == 1) have no reply to wait for: wait for all events, then settle.
  server.wait_event_count("close ", ids.size());
  std::this_thread::sleep_for(200ms);
  for (size_t i = 0; i < ids.size(); ++i) {
    CAPTURE(i);
    auto closes = event_lines(server, "close " + std::to_string(ids[i]) + " ");
    CHECK(closes.size() == 1);
    const char* expect[] = {"code=1000 by_server=0", "code=1006 by_server=0", "code=4003 by_server=1", "by_server=1"};
    if (!closes.empty()) CHECK_MESSAGE(contains(closes[0], expect[i % 4]), closes[0]);
  }
}
