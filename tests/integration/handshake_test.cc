// The opening handshake: built-in (subprotocol, what the open event sees)
// and custom (the plugin answers itself; open does not run).
#include <doctest/doctest.h>

#include "test_helpers.h"
#include "ws_client.h"
#include "wsd_server.h"

using namespace wsd::test;
using namespace std::chrono_literals;

namespace {
// RFC 6455 §1.3's example key and its accept value.
constexpr const char* kSampleKey = "dGhlIHNhbXBsZSBub25jZQ==";
constexpr const char* kSampleAccept = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";
}  // namespace

TEST_CASE("handshake: the open event sees path, query, cookie, User-Agent and the peer") {
  WsdServer server({probe_config()});
  REQUIRE_MESSAGE(server.started(), server.log());
  WsClient c;
  REQUIRE(c.connect(server.port()));
  HttpReply r = c.handshake("/room/1?x=1&greet=1", {"Cookie: theme=dark; session=s3cr3t; x=y", "User-Agent: itest/1.0"});
  REQUIRE(r.status == 101);
  CHECK(r.headers["sec-websocket-accept"] == kSampleAccept);
  CHECK(r.headers.count("sec-websocket-protocol") == 0);
  std::string welcome = receive_text(c);   // pushed from the open event (?greet)
  REQUIRE(welcome.rfind("welcome ", 0) == 0);
  uint64_t id = std::stoull(welcome.substr(8));
  CHECK(whoami(c).id == id);
  auto opens = event_lines(server, "open " + std::to_string(id) + " ");
  REQUIRE(opens.size() == 1);
  CHECK(contains(opens[0], "path=/room/1 query=x=1&greet=1 cookie=s3cr3t ua=itest/1.0 remote=127.0.0.1"));
}

TEST_CASE("handshake: built-in refusals") {
  WsdServer server({probe_config()});
  REQUIRE_MESSAGE(server.started(), server.log());
  struct Case {
    const char* name;
    std::string request;
    int status;
  };
  const std::string base = "Host: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n";
  const Case cases[] = {
      {"version 8", "GET / HTTP/1.1\r\n" + base + "Sec-WebSocket-Key: " + kSampleKey + "\r\nSec-WebSocket-Version: 8\r\n\r\n", 426},
      {"no key", "GET / HTTP/1.1\r\n" + base + "Sec-WebSocket-Version: 13\r\n\r\n", 400},
      {"short key", upgrade_request("/", "c2hvcnQ="), 400},
      {"POST", "POST / HTTP/1.1\r\n" + base + "Sec-WebSocket-Key: " + kSampleKey + "\r\nSec-WebSocket-Version: 13\r\nContent-Length: 0\r\n\r\n", 400},
  };
  for (const Case& k : cases) {
    CAPTURE(k.name);
    WsClient c;
    REQUIRE(c.connect(server.port()));
    HttpReply r = c.http(k.request);
    CHECK(r.status == k.status);
    if (k.status == 426) CHECK(r.headers["sec-websocket-version"] == "13");
    CHECK(c.wait_eof());
  }
  // None of them reached the plugin.
  CHECK(settled_events(server, "open ", 0ms).empty());
  CHECK(event_lines(server, "close ").empty());
}

TEST_CASE("handshake: subprotocol negotiation") {
  WsdServer server({probe_config("websocket_subprotocol: chat\n")});
  REQUIRE_MESSAGE(server.started(), server.log());
  {
    WsClient c;
    REQUIRE(c.connect(server.port()));
    HttpReply r = c.handshake("/", {"Sec-WebSocket-Protocol: superchat, chat"});
    CHECK(r.status == 101);
    CHECK(r.headers["sec-websocket-protocol"] == "chat");
  }
  {
    WsClient c;
    REQUIRE(c.connect(server.port()));
    HttpReply r = c.handshake("/");
    CHECK(r.status == 101);
    CHECK(r.headers.count("sec-websocket-protocol") == 0);
  }
  {
    WsClient c;
    REQUIRE(c.connect(server.port()));
    HttpReply r = c.handshake("/", {"Sec-WebSocket-Protocol: other"});
    CHECK(r.status == 101);
    CHECK(r.headers.count("sec-websocket-protocol") == 0);
  }
  {
    // Offered over two header lines.
    WsClient c;
    REQUIRE(c.connect(server.port()));
    HttpReply r = c.handshake("/", {"Sec-WebSocket-Protocol: superchat", "Sec-WebSocket-Protocol: chat"});
    CHECK(r.status == 101);
    CHECK(r.headers["sec-websocket-protocol"] == "chat");
  }
}

TEST_CASE("handshake: the manual's custom handshake plugin accepts a valid key and refuses a bad one") {
  WsdServer server({probe_config(plugin_entry("handshake", "handshake.so", "/hs"))});
  REQUIRE_MESSAGE(server.started(), server.log());

  WsClient c;
  REQUIRE(c.connect(server.port()));
  HttpReply r = c.handshake("/hs");
  REQUIRE(r.status == 101);
  CHECK(r.headers["sec-websocket-accept"] == kSampleAccept);
  CHECK(r.headers["upgrade"] == "websocket");
  // Its open logic runs deferred, since open does not run.
  CHECK(receive_text(c) == "hello, welcome\n");
  REQUIRE(c.send_text("echo me"));
  CHECK(receive_text(c) == "echo me");

  // A frame sent right behind the request, while the plugin decides, is kept
  // and delivered after the 101.
  WsClient p;
  REQUIRE(p.connect(server.port()));
  r = p.handshake("/hs", {}, false, WsClient::frame_bytes(1, "early bird"));
  REQUIRE(r.status == 101);
  CHECK(receive_text(p) == "hello, welcome\n");
  CHECK(receive_text(p) == "early bird");

  // 16 bytes' worth of base64 but ending in 'B==': the manual's pattern refuses it.
  WsClient bad;
  REQUIRE(bad.connect(server.port()));
  r = bad.http(upgrade_request("/hs", "AAAAAAAAAAAAAAAAAAAAAB=="));
  CHECK(r.status == 400);
  CHECK(bad.wait_eof());

  // Neither reached the probe.
  CHECK(event_lines(server, "open ").empty());
}

TEST_CASE("handshake: custom handshake suppresses open; close still reported once; refusal with the plugin's status") {
  WsdServer server({probe_config(plugin_entry("probe_hs", "probe_hs.so", "/custom", true))});
  REQUIRE_MESSAGE(server.started(), server.log());

  WsClient c;
  REQUIRE(c.connect(server.port()));
  HttpReply r = c.handshake("/custom/a?x=1");
  REQUIRE(r.status == 101);
  CHECK(r.headers["sec-websocket-accept"] == kSampleAccept);
  CHECK(r.headers["x-custom"] == "1");
  std::string welcome = receive_text(c);
  REQUIRE(welcome.rfind("welcome ", 0) == 0);
  uint64_t id = std::stoull(welcome.substr(8));
  Whoami me = whoami(c);
  CHECK(me.id == id);
  CHECK(ask(c, "exist " + std::to_string(id)) == "exist 1 established 1");
  REQUIRE(c.send_close(1000, "bye"));
  Received rc = c.receive();
  REQUIRE_MESSAGE(rc.kind == Received::Close, describe(rc));
  CHECK(c.wait_eof());
  auto closes = close_events(server, id);
  REQUIRE(closes.size() == 1);
  CHECK(contains(closes[0], "code=1000 by_server=0 reason=bye"));
  CHECK(event_lines(server, "handshake " + std::to_string(id) + " ").size() == 1);
  CHECK(event_lines(server, "open ").empty());

  WsClient refused;
  REQUIRE(refused.connect(server.port()));
  r = refused.handshake("/custom?refuse=403");
  CHECK(r.status == 403);
  CHECK(r.headers["x-refused"] == "yes");
  CHECK(r.body == "refused");
  CHECK(refused.wait_eof());
  // Refused: never a WebSocket, so no close event.
  CHECK(settled_events(server, "handshake ", 5000ms).size() == 2);
  CHECK(event_lines(server, "close ").size() == 1);
  CHECK(event_lines(server, "open ").empty());
}
