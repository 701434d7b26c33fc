// Methods a plugin calls on connections: push (also to another worker's
// connection), exist / is_established, get_client_info, iteration.
#include <doctest/doctest.h>

#include <memory>
#include <vector>

#include "test_helpers.h"
#include "ws_client.h"
#include "wsd_server.h"

using namespace wsd::test;
using namespace std::chrono_literals;

TEST_CASE("push: to a connection served by another worker") {
  for (int workers : {2, 3}) {
    CAPTURE(workers);
    WsdServer server({probe_config("worker_num: " + std::to_string(workers) + "\ndispatch_mode: 2\n")});
    REQUIRE_MESSAGE(server.started(), server.log());
    std::vector<std::unique_ptr<WsClient>> clients;
    std::vector<Whoami> who;
    const Pair pair = on_two_workers(server, clients, who);
    const int a = pair.a, b = pair.b;
    REQUIRE_MESSAGE(b >= 0, "all connections landed on one worker");
    if (base_mode()) {
      // BASE mode does not route between workers (as Swoole's BASE mode):
      // push returns WSD_ERR_NOT_SUPPORTED and the log says why, once.
      CHECK(ask(*clients[a], "push " + std::to_string(who[b].id) + " from across") == "push -6");
      CHECK(ask(*clients[a], "push " + std::to_string(who[b].id) + " again") == "push -6");
      CHECK(ask(*clients[a], "exist " + std::to_string(who[b].id)) == "exist 1 established 1");
      std::string log = server.log();
      size_t first = log.find("BASE mode does not route");
      CHECK(first != std::string::npos);
      CHECK(log.find("BASE mode does not route", first + 1) == std::string::npos);
      CHECK(log.find("conn " + std::to_string(who[b].id)) != std::string::npos);
      continue;
    }
    CHECK(ask(*clients[a], "push " + std::to_string(who[b].id) + " from across") == "push 0");
    CHECK(receive_text(*clients[b]) == "from across");
    CHECK(ask(*clients[b], "push " + std::to_string(who[a].id) + " and back") == "push 0");
    CHECK(receive_text(*clients[a]) == "and back");
    // Binary, larger than one read.
    CHECK(ask(*clients[a], "pushbin " + std::to_string(who[b].id) + " 200000") == "push 0");
    Received r = clients[b]->receive();
    REQUIRE_MESSAGE(r.kind == Received::Message, describe(r));
    CHECK(r.opcode == 2);
    CHECK(r.data == std::string(200000, 'x'));
  }
}

TEST_CASE("push: to a closed id or an id never issued fails; exist and is_established") {
  // One worker, so that the pushes below reach b in BASE mode too.
  WsdServer server({probe_config("worker_num: 1\n")});
  REQUIRE_MESSAGE(server.started(), server.log());
  WsClient a, b;
  REQUIRE(a.open(server.port(), "/"));
  REQUIRE(b.open(server.port(), "/"));
  uint64_t aid = whoami(a).id, bid = whoami(b).id;
  REQUIRE(aid != 0);
  REQUIRE(bid != 0);
  CHECK(aid != bid);

  CHECK(ask(a, "exist " + std::to_string(bid)) == "exist 1 established 1");
  CHECK(ask(a, "push " + std::to_string(bid) + " hi b") == "push 0");
  CHECK(receive_text(b) == "hi b");

  b.close();
  REQUIRE(settled_events(server, "close " + std::to_string(bid) + " ").size() == 1);
  CHECK(ask(a, "exist " + std::to_string(bid)) == "exist 0 established 0");
  CHECK(ask(a, "push " + std::to_string(bid) + " too late") == "push -1");
  CHECK(ask(a, "push 12345 nobody") == "push -1");
  CHECK(ask(a, "exist 12345") == "exist 0 established 0");
  CHECK(ask(a, "exist 0") == "exist 0 established 0");

  // A new connection reuses b's slot but not its id: the old id stays dead.
  WsClient c;
  REQUIRE(c.open(server.port(), "/"));
  uint64_t cid = whoami(c).id;
  CHECK(cid != bid);
  CHECK(ask(a, "push " + std::to_string(bid) + " wrong client") == "push -1");
  CHECK(ask(a, "exist " + std::to_string(cid)) == "exist 1 established 1");
  c.set_timeout(200ms);
  Received r = c.receive();
  CHECK_MESSAGE(r.kind == Received::Timeout, describe(r));
}

TEST_CASE("push: a connection in a close handshake is no longer established") {
  WsdServer server({probe_config()});
  REQUIRE_MESSAGE(server.started(), server.log());
  WsClient a, b;
  REQUIRE(a.open(server.port(), "/"));
  REQUIRE(b.open(server.port(), "/"));
  uint64_t bid = whoami(b).id;
  REQUIRE(b.send_text("disconnect 4000 later"));
  Received r = b.receive();
  REQUIRE_MESSAGE(r.kind == Received::Close, describe(r));
  // b has not answered: the connection exists but is closing.
  CHECK(ask(a, "exist " + std::to_string(bid)) == "exist 1 established 0");
  CHECK(ask(a, "push " + std::to_string(bid) + " x") == "push -1");
  REQUIRE(b.send_close(4000));
  CHECK(b.wait_eof());
}

TEST_CASE("get_client_info and connection iteration") {
  WsdServer server({probe_config()});
  REQUIRE_MESSAGE(server.started(), server.log());
  WsClient a;
  REQUIRE(a.open(server.port(), "/"));
  std::string info = ask(a, "info");
  std::istringstream in(info);
  std::string word, ip;
  int remote_port = 0, server_port = 0, status = 0, reactor = -1, worker = -1;
  in >> word >> ip >> remote_port >> server_port >> status >> reactor >> worker;
  CHECK_MESSAGE(word == "info", info);
  CHECK(ip == "127.0.0.1");
  CHECK(remote_port == a.local_port());
  CHECK(server_port == server.port());
  CHECK(status == 3);
  // PROCESS: reactor_num 1, so reactor 0. BASE: each worker is its own reactor.
  CHECK(reactor == (base_mode() ? worker : 0));
  CHECK(worker == whoami(a).worker);

  CHECK(ask(a, "count") == "count 1");
  WsClient b, c;
  REQUIRE(b.open(server.port(), "/"));
  REQUIRE(c.open(server.port(), "/echo"));   // another plugin's connections count too
  CHECK(ask(a, "count") == "count 3");
  // A plain HTTP connection is not a WebSocket: not counted.
  WsClient h;
  REQUIRE(h.connect(server.port()));
  REQUIRE(h.send_raw("GET /x HTTP/1.1\r\nHost: a\r\n"));   // unfinished request
  CHECK(ask(a, "count") == "count 3");
  b.close();
  REQUIRE(settled_events(server, "close ", 5000ms, 0ms).size() == 1);
  CHECK(ask(a, "count") == "count 2");
}

TEST_CASE("broadcast plugin: GET ?message= reaches every established connection, across workers") {
  // BASE mode reaches only the worker's own connections: one worker there.
  WsdServer server({probe_config(plugin_entry("broadcast", "broadcast.so", "/bc") +
                                 (base_mode() ? "worker_num: 1\n" : "worker_num: 2\nreactor_num: 2\n"))});
  REQUIRE_MESSAGE(server.started(), server.log());
  std::vector<std::unique_ptr<WsClient>> clients;
  for (int i = 0; i < 4; ++i) {
    clients.push_back(std::make_unique<WsClient>());
    REQUIRE(clients.back()->open(server.port(), i % 2 ? "/bc" : "/"));
  }
  // Every connection is open by now (a round trip on each).
  for (int i = 0; i < 4; ++i) {
    REQUIRE(clients[i]->send_text(i % 2 ? "anything" : "whoami"));
    std::string reply = receive_text(*clients[i]);
    CHECK((i % 2 ? reply == "this is server" : reply.rfind("id ", 0) == 0));
  }
  WsClient h;
  REQUIRE(h.connect(server.port()));
  HttpReply r = h.http("GET /bc?message=hi%20all HTTP/1.1\r\nHost: a\r\n\r\n");
  CHECK(r.status == 200);
  CHECK(r.body == "broadcast\n");
  for (auto& c : clients) CHECK(receive_text(*c) == "hi all");
  r = h.http("GET /bc HTTP/1.1\r\nHost: a\r\n\r\n");
  CHECK(r.status == 400);

  // ?topic= at the handshake subscribes; ?topic= with ?message= publishes.
  WsClient sub;
  REQUIRE(sub.open(server.port(), "/bc?topic=news"));
  CHECK(ask(sub, "x") == "this is server");   // open (and its subscribe) handled by now
  r = h.http("GET /bc?topic=news&message=headline HTTP/1.1\r\nHost: a\r\n\r\n");
  CHECK(r.status == 200);
  CHECK(r.body == "published\n");
  CHECK(receive_text(sub) == "headline");
  r = h.http("GET /bc?message=after HTTP/1.1\r\nHost: a\r\n\r\n");
  CHECK(r.status == 200);
  for (auto& c : clients) CHECK(receive_text(*c) == "after");   // not "headline" before it
  CHECK(receive_text(sub) == "after");
}
