// Echo through the whole server: master, reactor, IPC, worker, plugin, back.
#include <doctest/doctest.h>

#include "test_helpers.h"
#include "ws_client.h"
#include "wsd_server.h"

using namespace wsd::test;

TEST_CASE("echo plugin: text and binary come back with their opcode") {
  WsdServer server({probe_config()});
  REQUIRE_MESSAGE(server.started(), server.log());
  WsClient c;
  REQUIRE(c.open(server.port(), "/echo"));
  REQUIRE(c.send_text("hello"));
  Received r = c.receive();
  CHECK(r.kind == Received::Message);
  CHECK(r.opcode == 1);
  CHECK(r.data == "hello");
  std::string bin(70000, '\0');
  for (size_t i = 0; i < bin.size(); ++i) bin[i] = static_cast<char>(i * 7);
  REQUIRE(c.send_binary(bin));
  r = c.receive();
  CHECK(r.kind == Received::Message);
  CHECK(r.opcode == 2);
  CHECK(r.data == bin);
}

// Every length encoding (7-bit, 16-bit, 64-bit) and both edges of each, up to
// exactly package_max_length; one byte more is refused with 1009.
TEST_CASE("echo: sizes from 0 bytes to exactly package_max_length, then 1009") {
  constexpr size_t kMax = 1024 * 1024;
  WsdServer server({probe_config(), {"--set", "package_max_length=1M"}});
  REQUIRE_MESSAGE(server.started(), server.log());
  WsClient c;
  REQUIRE(c.open(server.port(), "/echo"));
  for (size_t size : {size_t{0}, size_t{1}, size_t{125}, size_t{126}, size_t{65535}, size_t{65536}, kMax}) {
    for (bool binary : {false, true}) {
      CAPTURE(size);
      CAPTURE(binary);
      std::string payload = pattern(size, binary);
      REQUIRE(c.send_frame(binary ? 2 : 1, payload));
      Received r = c.receive();
      REQUIRE_MESSAGE(r.kind == Received::Message, describe(r));
      CHECK(r.opcode == (binary ? 2 : 1));
      CHECK(r.data.size() == size);
      CHECK(r.data == payload);
    }
  }
  for (uint8_t opcode : {uint8_t{1}, uint8_t{2}}) {
    CAPTURE(opcode);
    WsClient big;
    REQUIRE(big.open(server.port(), "/echo"));
    // The server answers 1009 from the header, maybe before all of it is sent.
    big.send_frame(opcode, pattern(kMax + 1, opcode == 2));
    Received r = big.receive();
    REQUIRE_MESSAGE(r.kind == Received::Close, describe(r));
    CHECK(r.code == 1009);
    CHECK(big.wait_eof());
  }
  // The first connection is unaffected.
  REQUIRE(c.send_text("still here"));
  CHECK(receive_text(c) == "still here");
}

// A limit on the reassembled message, not on each frame: fragments that add
// up to more than package_max_length are refused as well.
TEST_CASE("echo: fragments adding up to more than package_max_length get 1009") {
  WsdServer server({probe_config(), {"--set", "package_max_length=64K"}});
  REQUIRE_MESSAGE(server.started(), server.log());
  WsClient c;
  REQUIRE(c.open(server.port(), "/echo"));
  // Exactly the limit in two fragments passes.
  REQUIRE(c.send_frame(2, pattern(32 * 1024, true), false));
  REQUIRE(c.send_frame(0, pattern(32 * 1024, true), true));
  Received r = c.receive();
  REQUIRE_MESSAGE(r.kind == Received::Message, describe(r));
  CHECK(r.data.size() == 64 * 1024);
  // One byte more does not.
  REQUIRE(c.send_frame(2, pattern(32 * 1024, true), false));
  REQUIRE(c.send_frame(0, pattern(32 * 1024 + 1, true), true));
  r = c.receive();
  REQUIRE_MESSAGE(r.kind == Received::Close, describe(r));
  CHECK(r.code == 1009);
}
