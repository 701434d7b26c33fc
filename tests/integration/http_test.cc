// Plain HTTP: requests answered by a plugin, refused without a request
// handler, unrouted paths, malformed and oversized requests.
#include <doctest/doctest.h>

#include <random>
#include <thread>

#include "test_helpers.h"
#include "ws_client.h"
#include "wsd_server.h"

using namespace wsd::test;
using namespace std::chrono_literals;

namespace {
std::string get(const std::string& target, const std::string& extra = {}) {
  return "GET " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\n" + extra + "\r\n";
}

// A config with the echo plugin on /echo only: no default plugin.
std::string no_default_config() {
  return "plugin_dir: [\"" + WsdServer::plugin_dir() + "\"]\n"
         "plugins:\n"
         "  - name: echo\n"
         "    file: echo.so\n"
         "    paths: [\"/echo\"]\n";
}
}  // namespace

TEST_CASE("http: a request handler answers, on a keep-alive connection") {
  WsdServer server({probe_config()});
  REQUIRE_MESSAGE(server.started(), server.log());
  WsClient c;
  REQUIRE(c.connect(server.port()));
  HttpReply r = c.http(get("/path?message=hi"));
  CHECK(r.status == 200);
  CHECK(r.body == "path=/path message=hi");
  CHECK(r.headers["x-probe"] == "1");
  CHECK(r.headers["content-type"] == "text/plain");
  // The second request on the same connection.
  r = c.http(get("/other/place?message=a%20b"));
  CHECK(r.status == 200);
  CHECK(r.body == "path=/other/place message=a b");
  // A POST with a body, pipelined behind another request.
  r = c.http(get("/one") + "POST /two HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello");
  CHECK(r.status == 200);
  CHECK(r.body == "path=/one");
  r = c.http("");
  CHECK(r.status == 200);
  CHECK(r.body == "path=/two");
  auto requests = settled_events(server, "request ", 5000ms, 0ms);
  CHECK(requests.size() == 4);

  // Connection: close is honoured.
  r = c.http(get("/last", "Connection: close\r\n"));
  CHECK(r.status == 200);
  CHECK(c.wait_eof());

  // The plugin saw plain-HTTP connections end as disconnect, never close.
  CHECK(settled_events(server, "disconnect ").size() == 1);
  CHECK(event_lines(server, "close ").empty());
}

TEST_CASE("http: many pipelined requests are answered one after the other, none waits for a timer") {
  // Each request after the first is held for replay behind the answer to the
  // one before it. The replay must follow that answer at once, however it
  // came in (PROCESS mode: also while the reactor waits for a quick worker),
  // not wait for the next event or the once-a-second timer: 40 requests would
  // then take 40 s, far beyond the client's 5 s.
  WsdServer server({probe_config()});
  REQUIRE_MESSAGE(server.started(), server.log());
  WsClient c;
  REQUIRE(c.connect(server.port()));
  constexpr int kRequests = 40;
  std::string all;
  for (int i = 0; i < kRequests; ++i) all += get("/p" + std::to_string(i));
  HttpReply r = c.http(all);
  for (int i = 0; i < kRequests; ++i) {
    CAPTURE(i);
    REQUIRE(r.status == 200);
    CHECK(r.body == "path=/p" + std::to_string(i));
    if (i + 1 < kRequests) r = c.http("");
  }
}

TEST_CASE("http: a plugin without a request handler gets 400") {
  WsdServer server({probe_config()});
  REQUIRE_MESSAGE(server.started(), server.log());
  WsClient c;
  REQUIRE(c.connect(server.port()));
  HttpReply r = c.http(get("/echo"));
  CHECK(r.status == 400);
  CHECK(c.wait_eof());
  WsClient d;
  REQUIRE(d.connect(server.port()));
  r = d.http(get("/echo/sub?x=1"));
  CHECK(r.status == 400);
}

TEST_CASE("http: an unrouted path without a default plugin gets 404, HTTP and upgrade alike") {
  WsdServer server({no_default_config()});
  REQUIRE_MESSAGE(server.started(), server.log());
  WsClient c;
  REQUIRE(c.connect(server.port()));
  HttpReply r = c.http(get("/nowhere"));
  CHECK(r.status == 404);
  CHECK(c.wait_eof());
  // /echoes is not under /echo.
  WsClient w;
  REQUIRE(w.connect(server.port()));
  r = w.handshake("/echoes");
  CHECK(r.status == 404);
  WsClient ok;
  CHECK(ok.open(server.port(), "/echo/room"));
}

TEST_CASE("http: garbage gets 400 and the connection closes") {
  WsdServer server({probe_config()});
  REQUIRE_MESSAGE(server.started(), server.log());
  std::mt19937 rng(20240601);
  for (int round = 0; round < 3; ++round) {
    CAPTURE(round);
    std::string junk(512, '\0');
    for (char& ch : junk) ch = static_cast<char>(rng());
    junk[0] = '\x16';   // never a method's first byte
    WsClient c;
    REQUIRE(c.connect(server.port()));
    HttpReply r = c.http(junk + "\r\n\r\n");
    CHECK(r.status == 400);
    CHECK(c.wait_eof());
  }
  // A request line without a version.
  WsClient c;
  REQUIRE(c.connect(server.port()));
  HttpReply r = c.http("GET /\r\n\r\n");
  CHECK(r.status == 400);
  CHECK(c.wait_eof());
  // The server still serves.
  WsClient ok;
  CHECK(ok.open(server.port(), "/"));
}

TEST_CASE("http: a header section over http_max_header_size gets 431") {
  WsdServer server({probe_config()});
  REQUIRE_MESSAGE(server.started(), server.log());
  WsClient c;
  REQUIRE(c.connect(server.port()));
  HttpReply r = c.http(get("/", "X-Big: " + std::string(10000, 'b') + "\r\n"));
  CHECK(r.status == 431);
  CHECK(c.wait_eof());
  // The same for an upgrade request.
  WsClient w;
  REQUIRE(w.connect(server.port()));
  r = w.handshake("/", {"X-Big: " + std::string(10000, 'b')});
  CHECK(r.status == 431);
  // Many small headers over the count limit.
  WsClient m;
  REQUIRE(m.connect(server.port()));
  std::string many;
  for (int i = 0; i < 100; ++i) many += "X-H" + std::to_string(i) + ": v\r\n";
  r = m.http(get("/", many));
  CHECK(r.status == 431);
}

TEST_CASE("http: a keep-alive connection may then upgrade to a WebSocket") {
  WsdServer server({probe_config()});
  REQUIRE_MESSAGE(server.started(), server.log());
  WsClient c;
  REQUIRE(c.connect(server.port()));
  HttpReply r = c.http(get("/first?message=1"));
  CHECK(r.status == 200);
  r = c.handshake("/ws");
  REQUIRE(r.status == 101);
  Whoami me = whoami(c);
  REQUIRE(me.id != 0);
  auto opens = event_lines(server, "open " + std::to_string(me.id) + " ");
  REQUIRE(opens.size() == 1);
  CHECK(contains(opens[0], "path=/ws"));
  c.close();
  CHECK(close_events(server, me.id).size() == 1);
  CHECK(event_lines(server, "disconnect ").empty());
}

TEST_CASE("http: the client leaves before the plugin answered") {
  WsdServer server({probe_config()});
  REQUIRE_MESSAGE(server.started(), server.log());
  for (int i = 0; i < 5; ++i) {
    WsClient c;
    REQUIRE(c.connect(server.port()));
    REQUIRE(c.send_raw(get("/gone")));
    c.close();
  }
  // One disconnect per connection, and the server carries on.
  server.wait_event_count("disconnect ", 5);
  CHECK(settled_events(server, "disconnect ").size() == 5);
  WsClient ok;
  REQUIRE(ok.connect(server.port()));
  CHECK(ok.http(get("/ok")).status == 200);
}

TEST_CASE("http: a body over package_max_length gets 413") {
  WsdServer server({probe_config(), {"--set", "package_max_length=1K"}});
  REQUIRE_MESSAGE(server.started(), server.log());
  WsClient c;
  REQUIRE(c.connect(server.port()));
  HttpReply r = c.http("POST /up HTTP/1.1\r\nHost: a\r\nContent-Length: 2000\r\n\r\n" + std::string(2000, 'b'));
  CHECK(r.status == 413);
  CHECK(c.wait_eof());
}

TEST_CASE("http: handshake_timeout bounds a request that never completes, not a busy keep-alive connection") {
  WsdServer server({probe_config("handshake_timeout: 300ms\n")});
  REQUIRE_MESSAGE(server.started(), server.log());
  // Silent and half-sent requests are cut off (checked once a second).
  WsClient silent, half;
  REQUIRE(silent.connect(server.port()));
  REQUIRE(half.connect(server.port()));
  REQUIRE(half.send_raw("GET / HTTP/1.1\r\nHost: a\r\n"));
  auto start = std::chrono::steady_clock::now();
  CHECK(silent.wait_eof());
  CHECK(half.wait_eof());
  CHECK(std::chrono::steady_clock::now() - start < 2500ms);

  // A keep-alive connection that keeps making requests is not.
  WsClient busy;
  REQUIRE(busy.connect(server.port()));
  for (int i = 0; i < 8; ++i) {
    CAPTURE(i);
    HttpReply r = busy.http(get("/tick"));
    REQUIRE(r.status == 200);
    std::this_thread::sleep_for(200ms);
  }
  // And the WebSocket it becomes is not bound by the handshake timeout either.
  REQUIRE(busy.handshake("/").status == 101);
  std::this_thread::sleep_for(1200ms);
  CHECK(whoami(busy).id != 0);
}

TEST_CASE("http: HTTP/1.0 closes after the response; HEAD gets no body") {
  WsdServer server({probe_config()});
  REQUIRE_MESSAGE(server.started(), server.log());
  WsClient old;
  REQUIRE(old.connect(server.port()));
  HttpReply r = old.http("GET /old?message=x HTTP/1.0\r\n\r\n");
  CHECK(r.status == 200);
  CHECK(r.body == "path=/old message=x");
  CHECK(old.wait_eof());

  // A HEAD answer carries the headers only; the next response on the
  // connection must start right after them.
  WsClient c;
  REQUIRE(c.connect(server.port()));
  r = c.http("HEAD /h HTTP/1.1\r\nHost: a\r\n\r\nGET /g HTTP/1.1\r\nHost: a\r\n\r\n");
  CHECK(r.status == 200);
  CHECK(r.headers["content-length"] == "7");   // what a GET would get ("path=/h")
  // What follows must be the GET's answer.
  c.set_timeout(1000ms);
  HttpReply g = c.http("");
  CHECK(g.status == 200);
  CHECK(g.body == "path=/g");
}
