// Frames from the client: fragmentation with control frames in between, and
// the options that deliver ping, pong and close frames to the plugin.
#include <doctest/doctest.h>

#include <thread>

#include "test_helpers.h"
#include "ws_client.h"
#include "wsd_server.h"

using namespace wsd::test;
using namespace std::chrono_literals;

TEST_CASE("fragments: text in 3 frames with a ping between them, binary, a code point split") {
  WsdServer server({probe_config()});
  REQUIRE_MESSAGE(server.started(), server.log());
  WsClient c;
  REQUIRE(c.open(server.port(), "/echo"));

  // Text in three frames, a ping after the first: the pong comes first (it is
  // answered at once), then the reassembled message.
  REQUIRE(c.send_frame(1, "Hello, ", false));
  REQUIRE(c.send_frame(9, "are you there?"));
  REQUIRE(c.send_frame(0, "frag", false));
  REQUIRE(c.send_frame(0, "mented world", true));
  Received r = c.receive();
  REQUIRE_MESSAGE(r.kind == Received::Pong, describe(r));
  CHECK(r.data == "are you there?");
  r = c.receive();
  REQUIRE_MESSAGE(r.kind == Received::Message, describe(r));
  CHECK(r.opcode == 1);
  CHECK(r.data == "Hello, fragmented world");

  // Binary in fragments, one of them empty.
  std::string a = pattern(1000, true), b = pattern(70000, true);
  REQUIRE(c.send_frame(2, a, false));
  REQUIRE(c.send_frame(0, "", false));
  REQUIRE(c.send_frame(0, b, true));
  r = c.receive();
  REQUIRE_MESSAGE(r.kind == Received::Message, describe(r));
  CHECK(r.opcode == 2);
  CHECK(r.data == a + b);

  // U+20AC (E2 82 AC) and U+1F600 (F0 9F 98 80) split across fragments.
  REQUIRE(c.send_frame(1, "price \xE2\x82", false));
  REQUIRE(c.send_frame(0, "\xAC 5 \xF0", false));
  REQUIRE(c.send_frame(0, "\x9F\x98\x80", true));
  r = c.receive();
  REQUIRE_MESSAGE(r.kind == Received::Message, describe(r));
  CHECK(r.data == "price \xE2\x82\xAC 5 \xF0\x9F\x98\x80");
}

// open_websocket_ping_frame off (the default): wsd answers the ping itself
// with the same payload, and the plugin sees nothing.
TEST_CASE("ping frames: answered automatically when the option is off") {
  WsdServer server({probe_config()});
  REQUIRE_MESSAGE(server.started(), server.log());
  WsClient c;
  REQUIRE(c.open(server.port(), "/"));
  Whoami me = whoami(c);
  REQUIRE(me.id != 0);
  REQUIRE(c.send_frame(9, "ping-payload"));
  Received r = c.receive();
  REQUIRE_MESSAGE(r.kind == Received::Pong, describe(r));
  CHECK(r.data == "ping-payload");
  REQUIRE(c.send_frame(9, ""));
  r = c.receive();
  REQUIRE_MESSAGE(r.kind == Received::Pong, describe(r));
  CHECK(r.data.empty());
  // A round trip through the plugin, so that a ping event would be in by now.
  CHECK(whoami(c).id == me.id);
  CHECK(event_lines(server, "ping ").empty());
}

TEST_CASE("ping frames: delivered to the plugin, which answers, when the option is on") {
  WsdServer server({probe_config("open_websocket_ping_frame: true\n")});
  REQUIRE_MESSAGE(server.started(), server.log());
  WsClient c;
  REQUIRE(c.open(server.port(), "/"));
  Whoami me = whoami(c);
  REQUIRE(me.id != 0);
  REQUIRE(c.send_frame(9, "abc"));
  Received r = c.receive();
  REQUIRE_MESSAGE(r.kind == Received::Pong, describe(r));
  CHECK(r.data == "abc");
  auto pings = settled_events(server, "ping " + std::to_string(me.id) + " ");
  REQUIRE(pings.size() == 1);   // one pong: the plugin's, not a second automatic one
  CHECK(contains(pings[0], "data=abc"));
  c.set_timeout(300ms);
  r = c.receive();
  CHECK_MESSAGE(r.kind == Received::Timeout, describe(r));
}

TEST_CASE("pong frames: dropped when the option is off, delivered when on") {
  for (bool on : {false, true}) {
    CAPTURE(on);
    WsdServer server({probe_config(on ? "open_websocket_pong_frame: true\n" : "")});
    REQUIRE_MESSAGE(server.started(), server.log());
    WsClient c;
    REQUIRE(c.open(server.port(), "/"));
    Whoami me = whoami(c);
    REQUIRE(me.id != 0);
    REQUIRE(c.send_frame(10, "unsolicited"));
    // Messages of one connection stay in order (dispatch_mode 2): once this
    // reply is back, a pong event would have been recorded.
    CHECK(whoami(c).id == me.id);
    auto pongs = event_lines(server, "pong " + std::to_string(me.id) + " ");
    if (on) {
      REQUIRE(pongs.size() == 1);
      CHECK(contains(pongs[0], "data=unsolicited"));
    } else {
      CHECK(pongs.empty());
    }
  }
}

TEST_CASE("close frames: delivered to the plugin only when the option is on; close event once either way") {
  for (bool on : {false, true}) {
    CAPTURE(on);
    WsdServer server({probe_config(on ? "open_websocket_close_frame: true\n" : "")});
    REQUIRE_MESSAGE(server.started(), server.log());
    WsClient c;
    REQUIRE(c.open(server.port(), "/"));
    Whoami me = whoami(c);
    REQUIRE(me.id != 0);
    REQUIRE(c.send_close(4000, "see you"));
    Received r = c.receive();
    REQUIRE_MESSAGE(r.kind == Received::Close, describe(r));
    CHECK(r.code == 4000);
    CHECK(c.wait_eof());
    auto closes = close_events(server, me.id);
    REQUIRE(closes.size() == 1);
    CHECK(contains(closes[0], "code=4000 by_server=0 reason=see you"));
    auto frames = event_lines(server, "close_frame " + std::to_string(me.id) + " ");
    if (on) {
      REQUIRE(frames.size() == 1);
      CHECK(contains(frames[0], "code=4000 reason=see you"));
    } else {
      CHECK(frames.empty());
    }
  }
}

TEST_CASE("frames: a frame arriving a byte at a time, and many frames in one write") {
  WsdServer server({probe_config()});
  REQUIRE_MESSAGE(server.started(), server.log());
  WsClient c;
  REQUIRE(c.open(server.port(), "/echo"));
  std::string frame = WsClient::frame_bytes(1, "slow " + pattern(300));
  for (char byte : frame) {
    REQUIRE(c.send_raw(std::string(1, byte)));
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
  CHECK(receive_text(c) == "slow " + pattern(300));

  // 2000 messages (and pings) in one write come back complete and in order.
  std::string burst;
  for (int i = 0; i < 2000; ++i) {
    burst += WsClient::frame_bytes(1, "m" + std::to_string(i));
    if (i % 500 == 0) burst += WsClient::frame_bytes(9, "p" + std::to_string(i));
  }
  REQUIRE(c.send_raw(burst));
  int next = 0, pongs = 0;
  while (next < 2000) {
    Received r = c.receive();
    if (r.kind == Received::Pong) {
      ++pongs;
      continue;
    }
    REQUIRE_MESSAGE(r.kind == Received::Message, describe(r));
    REQUIRE(r.data == "m" + std::to_string(next));
    ++next;
  }
  CHECK(pongs == 4);
}

TEST_CASE("frames: a frame sent together with the upgrade request is not lost") {
  WsdServer server({probe_config()});
  REQUIRE_MESSAGE(server.started(), server.log());
  WsClient c;
  REQUIRE(c.connect(server.port()));
  HttpReply r = c.handshake("/echo", {}, false, WsClient::frame_bytes(1, "right behind") + WsClient::frame_bytes(2, "and more"));
  REQUIRE(r.status == 101);
  CHECK(receive_text(c) == "right behind");
  CHECK(receive_text(c) == "and more");
}

TEST_CASE("frames: a large message to a client that reads slowly arrives whole") {
  // Room for all three echoes: this is about partial writes, not the limit
  // (a push over buffer_output_size fails, and the echo plugin drops it).
  WsdServer server({probe_config("buffer_output_size: 8M\n")});
  REQUIRE_MESSAGE(server.started(), server.log());
  WsClient c;
  REQUIRE(c.open(server.port(), "/echo"));
  std::string big = pattern(1500000, true);
  for (int i = 0; i < 3; ++i) REQUIRE(c.send_binary(big));
  std::this_thread::sleep_for(300ms);   // the server's output backs up meanwhile
  for (int i = 0; i < 3; ++i) {
    Received r = c.receive();
    REQUIRE_MESSAGE(r.kind == Received::Message, describe(r));
    CHECK(r.data == big);
  }
}
