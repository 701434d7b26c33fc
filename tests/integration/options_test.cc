// Server options seen from the wire: compression, dispatch modes, listeners.
#include <doctest/doctest.h>

#include <memory>
#include <set>
#include <sstream>

#include "test_helpers.h"
#include "ws_client.h"
#include "wsd_server.h"

using namespace wsd::test;
using namespace std::chrono_literals;

TEST_CASE("compression: negotiated messages both ways; pushcompress only where negotiated") {
  WsdServer server({probe_config("websocket_compression: true\n")});
  REQUIRE_MESSAGE(server.started(), server.log());

  WsClient e;
  REQUIRE(e.connect(server.port()));
  HttpReply h = e.handshake("/echo", {}, true);
  REQUIRE(h.status == 101);
  CHECK(contains(h.headers["sec-websocket-extensions"], "permessage-deflate"));
  REQUIRE(e.deflate().has_value());
  const std::string small = "hello hello hello hello";
  REQUIRE(e.send_compressed(1, small));
  Received r = e.receive();
  REQUIRE_MESSAGE(r.kind == Received::Message, describe(r));
  CHECK(r.data == small);
  CHECK(r.compressed);
  // Several messages on the same context (context takeover), one large.
  std::string big = pattern(300000);
  REQUIRE(e.send_compressed(1, big));
  REQUIRE(e.send_compressed(2, pattern(5000, true)));
  REQUIRE(e.send_binary("plain"));   // uncompressed frames stay allowed
  r = e.receive();
  CHECK(r.data == big);
  CHECK(r.compressed);
  r = e.receive();
  CHECK(r.opcode == 2);
  CHECK(r.data == pattern(5000, true));
  r = e.receive();
  CHECK(r.data == "plain");
  CHECK_FALSE(r.compressed);

  // The probe's pushcompress on a connection that negotiated deflate.
  WsClient p;
  REQUIRE(p.open(server.port(), "/", {}, true));
  REQUIRE(p.deflate().has_value());
  REQUIRE(p.send_compressed(1, "pushcompress hi there"));   // a compressed command works too
  r = p.receive();
  REQUIRE_MESSAGE(r.kind == Received::Message, describe(r));
  CHECK(r.data == "hi there");
  CHECK(r.compressed);
  CHECK(receive_text(p) == "push 0");

  // ... and on one that did not offer it: sent plain.
  WsClient q;
  REQUIRE(q.connect(server.port()));
  h = q.handshake("/");
  REQUIRE(h.status == 101);
  CHECK(h.headers.count("sec-websocket-extensions") == 0);
  REQUIRE(q.send_text("pushcompress hi"));
  r = q.receive();
  REQUIRE_MESSAGE(r.kind == Received::Message, describe(r));
  CHECK(r.data == "hi");
  CHECK_FALSE(r.compressed);
  CHECK(receive_text(q) == "push 0");
}

TEST_CASE("compression: off by default, an offer is declined and compressed frames are refused") {
  WsdServer server({probe_config()});
  REQUIRE_MESSAGE(server.started(), server.log());
  WsClient c;
  REQUIRE(c.connect(server.port()));
  HttpReply h = c.handshake("/", {}, true);
  REQUIRE(h.status == 101);
  CHECK(h.headers.count("sec-websocket-extensions") == 0);
  CHECK_FALSE(c.deflate().has_value());
  REQUIRE(c.send_text("pushcompress hi"));
  Received r = c.receive();
  CHECK(r.data == "hi");
  CHECK_FALSE(r.compressed);
  CHECK(receive_text(c) == "push 0");
}

namespace {
// Opens `n` probe connections; returns them with their whoami.
std::vector<std::unique_ptr<WsClient>> open_many(const WsdServer& server, int n, std::vector<Whoami>& who) {
  std::vector<std::unique_ptr<WsClient>> clients;
  for (int i = 0; i < n; ++i) {
    clients.push_back(std::make_unique<WsClient>());
    REQUIRE(clients.back()->open(server.port(), "/"));
    who.push_back(whoami(*clients.back()));
    REQUIRE(who.back().id != 0);
  }
  return clients;
}
}  // namespace

TEST_CASE("dispatch_mode 1 (round robin): a connection's messages go to every worker in turn") {
  if (base_mode()) return;  // BASE mode has no reactors and no dispatch: the kernel spreads connections
  WsdServer server({probe_config("worker_num: 2\ndispatch_mode: 1\n")});
  REQUIRE_MESSAGE(server.started(), server.log());
  std::vector<Whoami> who;
  auto clients = open_many(server, 2, who);
  std::set<int> workers;
  for (int i = 0; i < 6; ++i) {
    Whoami w = whoami(*clients[0]);
    CHECK(w.id == who[0].id);
    workers.insert(w.worker);
  }
  CHECK(workers.size() == 2);
  CHECK(ask(*clients[1], "push " + std::to_string(who[0].id) + " rr") == "push 0");
  CHECK(receive_text(*clients[0]) == "rr");
  // Open and close still go to the home worker, once each.
  uint64_t id = who[0].id;
  clients[0]->close();
  CHECK(close_events(server, id).size() == 1);
  CHECK(event_lines(server, "open " + std::to_string(id) + " ").size() == 1);
}

TEST_CASE("dispatch_mode 3 (preemptive): messages are answered, in any worker") {
  if (base_mode()) return;  // BASE mode has no reactors and no dispatch: the kernel spreads connections
  WsdServer server({probe_config("worker_num: 2\ndispatch_mode: 3\n")});
  REQUIRE_MESSAGE(server.started(), server.log());
  std::vector<Whoami> who;
  auto clients = open_many(server, 3, who);
  for (int i = 0; i < 3; ++i) {
    for (int k = 0; k < 3; ++k) CHECK(whoami(*clients[i]).id == who[i].id);
    REQUIRE(clients[i]->send_binary(pattern(1000 + i, true)));
    Received r = clients[i]->receive();
    CHECK(r.data == pattern(1000 + i, true));
  }
  uint64_t id = who[1].id;
  clients[1]->close();
  CHECK(close_events(server, id).size() == 1);
}

TEST_CASE("dispatch_mode 4 (by IP): every connection from 127.0.0.1 lands on the same worker") {
  if (base_mode()) return;  // BASE mode has no reactors and no dispatch: the kernel spreads connections
  WsdServer server({probe_config("worker_num: 3\ndispatch_mode: 4\n")});
  REQUIRE_MESSAGE(server.started(), server.log());
  std::vector<Whoami> who;
  auto clients = open_many(server, 5, who);
  for (int i = 0; i < 5; ++i) {
    CAPTURE(i);
    CHECK(who[i].worker == who[0].worker);
    CHECK(whoami(*clients[i]).worker == who[0].worker);
  }
  // Open events ran there too.
  for (const std::string& line : event_lines(server, "open "))
    CHECK_MESSAGE(contains(line, "worker=" + std::to_string(who[0].worker)), line);
}

TEST_CASE("listeners: a second listener serves the same plugins and reports its own port") {
  WsdServer server({probe_config("listeners:\n  - host: 127.0.0.1\n    port: 0\n")});
  REQUIRE_MESSAGE(server.started(), server.log());
  REQUIRE(server.ports().size() == 2);
  CHECK(server.ports()[0] != server.ports()[1]);
  for (uint16_t port : server.ports()) {
    CAPTURE(port);
    WsClient c;
    REQUIRE(c.open(port, "/"));
    std::istringstream in(ask(c, "info"));
    std::string word, ip;
    int remote_port = 0, server_port = 0;
    in >> word >> ip >> remote_port >> server_port;
    CHECK(server_port == port);
    WsClient h;
    REQUIRE(h.connect(port));
    HttpReply r = h.http("GET /x?message=m HTTP/1.1\r\nHost: a\r\n\r\n");
    CHECK(r.status == 200);
    CHECK(r.body == "path=/x message=m");
  }
}

TEST_CASE("reactor_num 2: connections spread over both reactors and push crosses them") {
  if (base_mode()) return;  // BASE mode has no reactors and no dispatch: the kernel spreads connections
  WsdServer server({probe_config("worker_num: 2\nreactor_num: 2\n")});
  REQUIRE_MESSAGE(server.started(), server.log());
  std::vector<Whoami> who;
  auto clients = open_many(server, 4, who);
  std::set<int> reactors;
  for (auto& c : clients) {
    std::istringstream in(ask(*c, "info"));
    std::string word, ip;
    int remote_port = 0, server_port = 0, status = 0, reactor = -1;
    in >> word >> ip >> remote_port >> server_port >> status >> reactor;
    reactors.insert(reactor);
  }
  CHECK(reactors == std::set<int>{0, 1});
  // Every ordered pair, so every (reactor, worker) combination is crossed.
  for (size_t a = 0; a < clients.size(); ++a) {
    for (size_t b = 0; b < clients.size(); ++b) {
      if (a == b) continue;
      std::string text = "from " + std::to_string(a) + " to " + std::to_string(b);
      CHECK(ask(*clients[a], "push " + std::to_string(who[b].id) + " " + text) == "push 0");
      CHECK(receive_text(*clients[b]) == text);
    }
  }
  CHECK(ask(*clients[0], "count") == "count 4");
}

TEST_CASE("max_connection: connections over the limit are refused, and room comes back") {
  WsdServer server({probe_config("max_connection: 3\n")});
  REQUIRE_MESSAGE(server.started(), server.log());
  std::vector<Whoami> who;
  auto clients = open_many(server, 3, who);
  WsClient extra;
  REQUIRE(extra.connect(server.port()));
  HttpReply r = extra.handshake("/");
  CHECK(r.status != 101);
  CHECK(extra.wait_eof());
  clients[0]->close();
  REQUIRE(close_events(server, who[0].id).size() == 1);
  WsClient again;
  CHECK(again.open(server.port(), "/"));
}

TEST_CASE("buffer_output_size: push to a client that does not read fails with BUFFER_FULL, nothing is lost before") {
  // One worker: in BASE mode a push reaches only the worker's own connections.
  WsdServer server({probe_config("buffer_output_size: 256K\nworker_num: 1\n")});
  REQUIRE_MESSAGE(server.started(), server.log());
  WsClient sleeper, pusher;
  REQUIRE(sleeper.open(server.port(), "/"));
  REQUIRE(pusher.open(server.port(), "/"));
  uint64_t sid = whoami(sleeper).id;
  // The kernel's socket buffers take some first; then the server's output fills.
  int accepted = 0;
  std::string rc;
  for (int i = 0; i < 2000; ++i) {
    rc = ask(pusher, "pushbin " + std::to_string(sid) + " 50000");
    if (rc != "push 0") break;
    ++accepted;
  }
  CHECK(rc == "push -4");
  CHECK(accepted > 0);
  // Everything accepted arrives.
  for (int i = 0; i < accepted; ++i) {
    CAPTURE(i);
    Received r = sleeper.receive();
    REQUIRE_MESSAGE(r.kind == Received::Message, describe(r));
    REQUIRE(r.data.size() == 50000);
  }
  // Drained: pushes work again.
  CHECK(ask(pusher, "push " + std::to_string(sid) + " awake") == "push 0");
  CHECK(receive_text(sleeper) == "awake");
}
