// Topics and fan-out (subscribe, unsubscribe, publish, broadcast), driven
// through the probe plugin's commands. Nothing here waits for "nothing
// arrives": a broadcast sent after a publish is a barrier (same worker, same
// channels, so every reactor handles them in that order), and a client that
// must not get the publish sees the barrier first.
//
// BASE mode: a publish or broadcast reaches only the connections of the
// worker process that makes it, and subscribe for another worker's
// connection returns WSD_ERR_NOT_SUPPORTED. Tests that need every connection
// in reach run BASE with one worker; the last tests show the difference.
#include <doctest/doctest.h>

#include <memory>
#include <string>
#include <vector>

#include "test_helpers.h"
#include "tls_certs.h"
#include "ws_client.h"
#include "wsd_server.h"

using namespace wsd::test;
using namespace std::chrono_literals;

namespace {

using Clients = std::vector<std::unique_ptr<WsClient>>;

// PROCESS: several workers and reactors; BASE: one worker (all in reach).
std::string spread_config(int workers, int reactors, const std::string& extra = {}) {
  if (base_mode()) return probe_config("worker_num: 1\n" + extra);
  return probe_config("worker_num: " + std::to_string(workers) + "\nreactor_num: " + std::to_string(reactors) +
                      "\n" + extra);
}

Clients open_clients(const WsdServer& server, int n, const std::string& path = "/") {
  Clients clients;
  for (int i = 0; i < n; ++i) {
    clients.push_back(std::make_unique<WsClient>());
    REQUIRE(clients.back()->open(server.port(), path));
  }
  return clients;
}

}  // namespace

TEST_CASE("topics: a publish reaches each subscriber once, across workers and reactors, and no one else") {
  WsdServer server({spread_config(3, 2)});
  REQUIRE_MESSAGE(server.started(), server.log());
  Clients c = open_clients(server, 6);
  const std::vector<int> subscribers = {0, 2, 3, 5};
  for (int i : subscribers) CHECK(ask(*c[i], "sub news") == "sub 0");
  CHECK(ask(*c[3], "sub news") == "sub 0");   // twice: still one membership
  CHECK(ask(*c[0], "sub other") == "sub 0");

  CHECK(ask(*c[1], "pub news hello") == "pub 0");
  REQUIRE(c[1]->send_text("bcast end"));
  CHECK(receive_text(*c[1]) == "end");        // the broadcast reaches the sender too, before its reply
  CHECK(receive_text(*c[1]) == "bcast 0");
  for (int i : subscribers) {
    CAPTURE(i);
    CHECK(receive_text(*c[i]) == "hello");
    CHECK(receive_text(*c[i]) == "end");
  }
  CHECK(receive_text(*c[4]) == "end");
  // A topic nobody subscribed to: accepted, delivered to no one.
  CHECK(ask(*c[1], "pub nobody x") == "pub 0");
  CHECK(ask(*c[1], "pub other just0") == "pub 0");
  CHECK(receive_text(*c[0]) == "just0");
}

TEST_CASE("topics: subscribe and unsubscribe a connection served by another worker") {
  WsdServer server({probe_config("worker_num: 3\n")});
  REQUIRE_MESSAGE(server.started(), server.log());
  Clients c;
  std::vector<Whoami> who;
  Pair p = on_two_workers(server, c, who);
  REQUIRE_MESSAGE(p.b >= 0, "all connections landed on one worker");
  WsClient& a = *c[p.a];
  WsClient& b = *c[p.b];
  const std::string bid = std::to_string(who[p.b].id);
  if (base_mode()) {
    // BASE mode does not route between workers: the subscription is refused.
    CHECK(ask(a, "sub news " + bid) == "sub -6");
    CHECK(ask(a, "unsub news " + bid) == "unsub -6");
    CHECK(contains(server.log(), "BASE mode does not route"));
    return;
  }
  CHECK(ask(a, "sub news " + bid) == "sub 0");
  CHECK(ask(a, "pub news from-a") == "pub 0");
  CHECK(receive_text(b) == "from-a");
  // b's own worker publishes too.
  CHECK(ask(b, "pub news from-b") == "from-b");
  CHECK(receive_text(b) == "pub 0");
  CHECK(ask(a, "unsub news " + bid) == "unsub 0");
  CHECK(ask(a, "pub news gone") == "pub 0");
  CHECK(ask(a, "bcast end") == "end");
  CHECK(receive_text(b) == "end");
}

TEST_CASE("topics: unsubscribe stops delivery; membership ends with the connection") {
  WsdServer server({spread_config(2, 1)});
  REQUIRE_MESSAGE(server.started(), server.log());
  WsClient pub, s;
  REQUIRE(pub.open(server.port()));
  REQUIRE(s.open(server.port()));
  CHECK(ask(s, "sub room") == "sub 0");
  CHECK(ask(pub, "pub room one") == "pub 0");
  CHECK(receive_text(s) == "one");
  CHECK(ask(s, "unsub room") == "unsub 0");
  CHECK(ask(s, "unsub room") == "unsub 0");   // not a member: nothing to do, not an error
  CHECK(ask(pub, "pub room two") == "pub 0");
  CHECK(ask(pub, "bcast end1") == "end1");
  CHECK(receive_text(pub) == "bcast 0");
  CHECK(receive_text(s) == "end1");

  // x subscribes and leaves; a new connection (on x's slot, likely) is no member.
  uint64_t xid = 0;
  {
    WsClient x;
    REQUIRE(x.open(server.port()));
    xid = whoami(x).id;
    CHECK(ask(x, "sub room") == "sub 0");
    REQUIRE(x.send_close(1000));
    CHECK(x.receive().kind == Received::Close);
  }
  REQUIRE(close_events(server, xid).size() == 1);
  CHECK(ask(pub, "sub room " + std::to_string(xid)) == "sub -1");   // a closed id
  WsClient y;
  REQUIRE(y.open(server.port()));
  CHECK(ask(pub, "pub room three") == "pub 0");
  CHECK(ask(pub, "bcast end2") == "end2");
  CHECK(receive_text(pub) == "bcast 0");
  CHECK(receive_text(y) == "end2");
  CHECK(receive_text(s) == "end2");
  // y subscribes: exactly one copy.
  CHECK(ask(y, "sub room") == "sub 0");
  CHECK(ask(pub, "pub room four") == "pub 0");
  CHECK(ask(pub, "bcast end3") == "end3");
  CHECK(receive_text(pub) == "bcast 0");
  CHECK(receive_text(y) == "four");
  CHECK(receive_text(y) == "end3");
}

TEST_CASE("topics: argument checks") {
  WsdServer server({spread_config(2, 1, "package_max_length: 100K\n")});
  REQUIRE_MESSAGE(server.started(), server.log());
  WsClient a;
  REQUIRE(a.open(server.port()));
  CHECK(ask(a, "sub -") == "sub -5");                   // empty topic
  CHECK(ask(a, "sub long") == "sub -5");                // 256 bytes
  CHECK(ask(a, "unsub -") == "unsub -5");
  CHECK(ask(a, "sub news 12345") == "sub -1");          // an id never issued
  CHECK(ask(a, "pub - x") == "pub -5");
  CHECK(ask(a, "pubop 8 news 2") == "pub -5");          // close: use disconnect
  CHECK(ask(a, "pubop 0 news 2") == "pub -5");          // continuation: publishes are whole messages
  CHECK(ask(a, "pubop 9 news 126") == "pub -5");        // a control frame over 125 bytes
  CHECK(ask(a, "pubop 9 news 125") == "pub 0");
  CHECK(ask(a, "pubbin news 102401") == "pub -3");      // over package_max_length
  CHECK(ask(a, "pubbin news 102400") == "pub 0");
  CHECK(ask(a, "bcastop 8 2") == "bcast -5");
  CHECK(ask(a, "bcastop 1 102401") == "bcast -3");
  // A topic of 255 bytes is fine.
  const std::string t255(255, 'q');
  CHECK(ask(a, "sub " + t255) == "sub 0");
  CHECK(ask(a, "pub " + t255 + " max") == "max");
  CHECK(receive_text(a) == "pub 0");
}

TEST_CASE("topics: broadcast reaches every established connection on every reactor") {
  WsdServer server({spread_config(2, 2)});
  REQUIRE_MESSAGE(server.started(), server.log());
  Clients c = open_clients(server, 4);
  Clients e = open_clients(server, 2, "/echo");   // another plugin's connections count too
  for (auto& x : e) CHECK(ask(*x, "ping?") == "ping?");
  WsClient h;   // a plain HTTP connection in the middle of its request
  REQUIRE(h.connect(server.port()));
  REQUIRE(h.send_raw("GET /x HTTP/1.1\r\nHost: a\r\n"));
  REQUIRE(c[0]->send_text("bcast to all"));
  CHECK(receive_text(*c[0]) == "to all");
  CHECK(receive_text(*c[0]) == "bcast 0");
  for (size_t i = 1; i < c.size(); ++i) CHECK(receive_text(*c[i]) == "to all");
  for (auto& x : e) CHECK(receive_text(*x) == "to all");
  HttpReply r = h.http("\r\n");   // the request ends: a normal answer, nothing else before it
  CHECK(r.status == 200);
  CHECK(contains(r.body, "path=/x"));
}

TEST_CASE("topics: publishes, pushes and broadcasts to one connection keep their order") {
  WsdServer server({spread_config(2, 1)});
  REQUIRE_MESSAGE(server.started(), server.log());
  WsClient a, b;
  REQUIRE(a.open(server.port()));
  REQUIRE(b.open(server.port()));
  const std::string aid = std::to_string(whoami(a).id);
  CHECK(ask(a, "sub t") == "sub 0");
  CHECK(ask(b, "sub t") == "sub 0");
  // One write: the commands reach the worker, and their effects the reactor,
  // together, so shared frames and a's own pushes meet in one iteration.
  std::string burst;
  for (const std::string& cmd : std::vector<std::string>{"pub t 1", "push " + aid + " 2", "pub t 3", "bcast 4", "pub t 5"})
    burst += WsClient::frame_bytes(1, cmd);
  REQUIRE(a.send_raw(burst));
  for (const char* want : {"1", "pub 0", "2", "push 0", "3", "pub 0", "4", "bcast 0", "5", "pub 0"})
    CHECK(receive_text(a) == want);
  for (const char* want : {"1", "3", "4", "5"}) CHECK(receive_text(b) == want);
}

TEST_CASE("topics: a burst of publishes arrives whole and in order at every subscriber") {
  WsdServer server({spread_config(2, 2)});
  REQUIRE_MESSAGE(server.started(), server.log());
  Clients c = open_clients(server, 4);
  for (size_t i = 1; i < c.size(); ++i) CHECK(ask(*c[i], "sub burst") == "sub 0");
  constexpr int kCount = 200;
  std::string burst;
  for (int i = 0; i < kCount; ++i) burst += WsClient::frame_bytes(1, "pub burst m" + std::to_string(i) + " " + pattern(i * 7));
  REQUIRE(c[0]->send_raw(burst));
  for (int i = 0; i < kCount; ++i) REQUIRE(receive_text(*c[0]) == "pub 0");
  for (size_t k = 1; k < c.size(); ++k) {
    CAPTURE(k);
    for (int i = 0; i < kCount; ++i) {
      std::string got = receive_text(*c[k]);
      REQUIRE(got == "m" + std::to_string(i) + " " + pattern(i * 7));
    }
  }
}

TEST_CASE("topics: a slow subscriber does not hold up the others (buffer_output_size)") {
  for (bool close_slow : {false, true}) {
    CAPTURE(close_slow);
    WsdServer server({spread_config(2, 1, "buffer_output_size: 1M\n" +
                                               std::string(close_slow ? "buffer_output_close: true\n" : ""))});
    REQUIRE_MESSAGE(server.started(), server.log());
    WsClient pub(10s), fast(10s), slow(10s);
    REQUIRE(pub.open(server.port()));
    REQUIRE(fast.open(server.port()));
    REQUIRE(slow.open(server.port()));
    const uint64_t slow_id = whoami(slow).id;
    CHECK(ask(fast, "sub feed") == "sub 0");
    CHECK(ask(slow, "sub feed") == "sub 0");
    // `slow` does not read while 12 MB are published: more than its socket
    // buffers (at most a few MB) and 1M of output hold. `fast` keeps up: the
    // publishes come in chunks of 300 KB, each read before the next.
    constexpr int kChunks = 40, kPerChunk = 10;
    std::string chunk;
    for (int i = 0; i < kPerChunk; ++i) chunk += WsClient::frame_bytes(1, "pubbin feed 30000");
    for (int n = 0; n < kChunks; ++n) {
      REQUIRE(pub.send_raw(chunk));
      for (int i = 0; i < kPerChunk; ++i) REQUIRE(receive_text(pub) == "pub 0");
      for (int i = 0; i < kPerChunk; ++i) {
        Received r = fast.receive();
        REQUIRE_MESSAGE(r.kind == Received::Message, describe(r));
        REQUIRE(r.data.size() == 30000);
      }
    }
    if (close_slow) {
      // What was queued before, then a close frame 1008 (or, when even that
      // did not fit, the end of the connection).
      Received r;
      do {
        r = slow.receive();
      } while (r.kind == Received::Message && r.data.size() == 30000);
      CHECK_MESSAGE((r.kind == Received::Eof || (r.kind == Received::Close && r.code == 1008)), describe(r));
      if (r.kind == Received::Close) slow.send_close(1008);
      auto closes = close_events(server, slow_id);
      REQUIRE_MESSAGE(closes.size() == 1, server.log());
      CHECK_MESSAGE(contains(closes[0], "code=1008 by_server=1"), closes[0]);
    } else {
      CHECK(ask(pub, "bcast end") == "end");
      CHECK(receive_text(fast) == "end");
      int got = 0;
      for (;;) {
        Received r = slow.receive();
        REQUIRE_MESSAGE(r.kind == Received::Message, describe(r));
        if (r.data == "end") break;
        REQUIRE(r.data.size() == 30000);
        ++got;
      }
      CHECK(got >= 1);
      CHECK(got < kChunks * kPerChunk);   // the rest was refused, not queued without bound
      CHECK(ask(slow, "still open") == "still open");
    }
    CHECK(ask(fast, "fine") == "fine");
  }
}

TEST_CASE("topics: compressed publish: once for deflate clients, plain for the others") {
  WsdServer server({spread_config(2, 1, "websocket_compression: true\n")});
  REQUIRE_MESSAGE(server.started(), server.log());
  WsClient d, p;
  REQUIRE(d.open(server.port(), "/", {}, true));
  REQUIRE(d.deflate().has_value());
  REQUIRE(p.open(server.port()));
  CHECK(ask(d, "sub z") == "sub 0");
  CHECK(ask(p, "sub z") == "sub 0");
  const std::string text = pattern(3000);
  for (int round = 0; round < 3; ++round) {
    // A compressed push before and after the shared compressed frame: the
    // one after must not refer into a window the client no longer has.
    REQUIRE(d.send_text("pushcompress " + text));
    Received r = d.receive();
    REQUIRE_MESSAGE(r.kind == Received::Message, describe(r));
    CHECK(r.compressed);
    CHECK(r.data == text);
    CHECK(receive_text(d) == "push 0");
    REQUIRE(p.send_text("pubc z " + text.substr(round * 100)));
    r = d.receive();
    REQUIRE_MESSAGE(r.kind == Received::Message, describe(r));
    CHECK(r.compressed);
    CHECK(r.data == text.substr(round * 100));
    r = p.receive();
    REQUIRE_MESSAGE(r.kind == Received::Message, describe(r));
    CHECK_FALSE(r.compressed);
    CHECK(r.data == text.substr(round * 100));
    CHECK(receive_text(p) == "pub 0");
  }
}

TEST_CASE("topics: TLS subscribers get the shared frames through their own TLS session") {
  ServerOptions o{spread_config(2, 1, tls_listener_keys())};
  o.prepare = [](const std::string& dir) { make_test_certs(dir); };
  WsdServer server(o);
  REQUIRE_MESSAGE(server.started(), server.log());
  TestCerts certs{server.dir()};
  WsClient a, b;
  REQUIRE(a.open_tls(server.port(), certs.ca(), "/"));
  REQUIRE(b.open_tls(server.port(), certs.ca(), "/"));
  CHECK(ask(b, "sub tls") == "sub 0");
  // Larger than a socket takes at once: the rest leaves from b's own buffer.
  CHECK(ask(a, "pubbin tls 1500000") == "pub 0");
  Received r = b.receive();
  REQUIRE_MESSAGE(r.kind == Received::Message, describe(r));
  CHECK(r.data == std::string(1500000, 'x'));
  CHECK(ask(a, "pub tls small") == "pub 0");
  CHECK(receive_text(b) == "small");
  CHECK(ask(a, "bcast all") == "all");
  CHECK(receive_text(b) == "all");
}

TEST_CASE("topics: BASE mode reaches the publishing worker's connections only") {
  WsdServer server({probe_config("worker_num: 2\n")});
  REQUIRE_MESSAGE(server.started(), server.log());
  Clients c;
  std::vector<Whoami> who;
  Pair p = on_two_workers(server, c, who);
  REQUIRE_MESSAGE(p.b >= 0, "all connections landed on one worker");
  WsClient& a = *c[p.a];
  WsClient& b = *c[p.b];
  CHECK(ask(a, "sub t") == "sub 0");
  CHECK(ask(b, "sub t") == "sub 0");
  CHECK(ask(a, "pub t from-a") == "from-a");
  CHECK(receive_text(a) == "pub 0");
  REQUIRE(a.send_text("bcast end-a"));
  CHECK(receive_text(a) == "end-a");
  CHECK(receive_text(a) == "bcast 0");
  if (base_mode()) {
    // b's worker saw neither: b's next message is its own worker's broadcast.
    REQUIRE(b.send_text("bcast end-b"));
    CHECK(receive_text(b) == "end-b");
    CHECK(receive_text(b) == "bcast 0");
  } else {
    CHECK(receive_text(b) == "from-a");
    CHECK(receive_text(b) == "end-a");
  }
}
