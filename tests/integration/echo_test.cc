// Echo through the whole server: master, reactor, IPC, worker, plugin, back.
#include <doctest/doctest.h>

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
