// Tests of core/http_request.cc. Every request is parsed whole, one byte at a
// time and in several seeded random splits, and all ways must agree.
#include "core/http_request.h"

#include <doctest/doctest.h>

#include <random>
#include <string>
#include <vector>

using wsd::core::HttpHeader;
using wsd::core::HttpLimits;
using wsd::core::HttpRequest;
using wsd::core::HttpRequestParser;
using State = wsd::core::HttpRequestParser::State;

namespace {

struct Outcome {
  State state = State::Incomplete;
  size_t consumed = 0;
  int status = 0;
  HttpRequest request;
};

// Feeds `pieces` in order, stopping at the first piece after which the
// parser is no longer Incomplete.
Outcome feed_pieces(const std::string& bytes, const std::vector<size_t>& sizes,
                    const HttpLimits& limits) {
  HttpRequestParser parser(limits);
  Outcome out;
  size_t pos = 0;
  for (size_t size : sizes) {
    const size_t n = parser.feed(bytes.data() + pos, size);
    out.consumed += n;
    if (parser.state() != State::Incomplete) break;
    REQUIRE(n == size);  // an incomplete request swallows everything it is given
    pos += size;
  }
  out.state = parser.state();
  out.status = parser.error_status();
  out.request = parser.request();
  if (out.state == State::Error) REQUIRE(!parser.error_reason().empty());
  return out;
}

std::vector<size_t> random_split(size_t len, unsigned seed) {
  std::mt19937 rng(seed);
  std::vector<size_t> sizes;
  while (len > 0) {
    const size_t n = std::min<size_t>(len, 1 + rng() % 17);
    sizes.push_back(n);
    len -= n;
  }
  return sizes;
}

void check_same(const Outcome& a, const Outcome& b) {
  CHECK(a.state == b.state);
  CHECK(a.status == b.status);
  // On Error the connection is closed; where exactly parsing stopped depends
  // on the split and does not matter.
  if (a.state != State::Complete) return;
  CHECK(a.consumed == b.consumed);
  CHECK(a.request.method == b.request.method);
  CHECK(a.request.target == b.request.target);
  CHECK(a.request.path == b.request.path);
  CHECK(a.request.query == b.request.query);
  CHECK(a.request.version_major == b.request.version_major);
  CHECK(a.request.version_minor == b.request.version_minor);
  CHECK(a.request.body == b.request.body);
  CHECK(a.request.keep_alive == b.request.keep_alive);
  REQUIRE(a.request.headers.size() == b.request.headers.size());
  for (size_t i = 0; i < a.request.headers.size(); ++i) {
    CHECK(a.request.headers[i].name == b.request.headers[i].name);
    CHECK(a.request.headers[i].value == b.request.headers[i].value);
  }
}

// Parses `bytes` whole, byte by byte and in five random splits; checks that
// all agree and returns the outcome.
Outcome parse(const std::string& bytes, const HttpLimits& limits = {}) {
  const Outcome whole = feed_pieces(bytes, {bytes.size()}, limits);
  {
    INFO("one byte at a time");
    check_same(whole, feed_pieces(bytes, std::vector<size_t>(bytes.size(), 1), limits));
  }
  for (unsigned seed = 1; seed <= 5; ++seed) {
    INFO("random split, seed " << seed);
    check_same(whole, feed_pieces(bytes, random_split(bytes.size(), seed), limits));
  }
  return whole;
}

std::string headers_of(const HttpRequest& r) {
  std::string s;
  for (const HttpHeader& h : r.headers) s += h.name + "=" + h.value + "|";
  return s;
}

}  // namespace

TEST_CASE("http: simple GET with query") {
  const std::string req =
      "GET /chat/room?id=7&name=a%20b HTTP/1.1\r\n"
      "Host: example.com\r\n"
      "User-Agent:   test agent  \r\n"
      "\r\n";
  const Outcome o = parse(req);
  REQUIRE(o.state == State::Complete);
  CHECK(o.consumed == req.size());
  CHECK(o.request.method == "GET");
  CHECK(o.request.target == "/chat/room?id=7&name=a%20b");
  CHECK(o.request.path == "/chat/room");
  CHECK(o.request.query == "id=7&name=a%20b");
  CHECK(o.request.version_major == 1);
  CHECK(o.request.version_minor == 1);
  CHECK(headers_of(o.request) == "Host=example.com|User-Agent=test agent|");
  CHECK(o.request.body.empty());
  CHECK(o.request.keep_alive);
}

TEST_CASE("http: empty lines before the request line are ignored") {
  const std::string req = "\r\n\r\nGET /x HTTP/1.0\r\n\r\n";
  const Outcome o = parse(req);
  REQUIRE(o.state == State::Complete);
  CHECK(o.consumed == req.size());
  CHECK(o.request.path == "/x");
  CHECK(o.request.version_minor == 0);
}

TEST_CASE("http: request targets split into path and query") {
  struct Case {
    const char* method;
    std::string target;
    const char* path;
    const char* query;
  };
  const Case cases[] = {
      {"GET", "/", "/", ""},
      {"GET", "/a?", "/a", ""},
      {"GET", "/a?b=1?c", "/a", "b=1?c"},
      {"GET", "/a?b#frag", "/a", "b"},
      {"GET", "http://example.com/x/y?z=1", "/x/y", "z=1"},
      {"GET", "http://example.com", "/", ""},
      {"OPTIONS", "*", "*", ""},
      {"CONNECT", "example.com:443", "example.com:443", ""},
  };
  for (const Case& c : cases) {
    CAPTURE(c.target);
    const Outcome o =
        parse(c.method + (" " + c.target) + " HTTP/1.1\r\nHost: h\r\n\r\n");
    REQUIRE(o.state == State::Complete);
    CHECK(o.request.method == c.method);
    CHECK(o.request.target == c.target);
    CHECK(o.request.path == c.path);
    CHECK(o.request.query == c.query);
  }
}

TEST_CASE("http: malformed requests are refused with the right status") {
  struct Case {
    std::string name;
    std::string bytes;
    int status;
  };
  const Case cases[] = {
      {"garbage request line", "GARBAGE\r\n\r\n", 400},
      {"binary garbage", std::string("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 11), 400},
      {"method only", "GET\r\n\r\n", 400},
      {"leading space", " GET / HTTP/1.1\r\n\r\n", 400},
      {"lowercase method", "get / HTTP/1.1\r\n\r\n", 400},
      {"no version", "GET /\r\nHost: h\r\n\r\n", 400},
      {"bad version text", "GET / HTTX/1.1\r\n\r\n", 400},
      {"three-digit minor version", "GET / HTTP/1.10\r\n\r\n", 400},
      {"two spaces after method", "GET  / HTTP/1.1\r\n\r\n", 400},
      {"two spaces before version", "GET /  HTTP/1.1\r\n\r\n", 400},
      {"text after version", "GET / HTTP/1.1 x\r\n\r\n", 400},
      {"HTTP/0.9 spelled out", "GET / HTTP/0.9\r\n\r\n", 400},
      {"HTTP/2.0", "GET / HTTP/2.0\r\nHost: h\r\n\r\n", 505},
      {"HTTP/3.1", "GET / HTTP/3.1\r\nHost: h\r\n\r\n", 505},
      {"space in target", "GET /a b HTTP/1.1\r\n\r\n", 400},
      {"header without colon", "GET / HTTP/1.1\r\nHost example.com\r\n\r\n", 400},
      {"space before colon", "GET / HTTP/1.1\r\nHost : h\r\n\r\n", 400},
      {"space inside name", "GET / HTTP/1.1\r\nX Y: 1\r\n\r\n", 400},
      {"empty header name", "GET / HTTP/1.1\r\n: v\r\n\r\n", 400},
      {"NUL in header value", std::string("GET / HTTP/1.1\r\nX: a\0b\r\n\r\n", 27), 400},
      {"bad Content-Length", "POST / HTTP/1.1\r\nContent-Length: abc\r\n\r\n", 400},
      {"two Content-Lengths", "POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab", 400},
      {"Content-Length with chunked",
       "POST / HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400},
      {"bad chunk size", "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 400},
  };
  for (const Case& c : cases) {
    INFO(c.name);
    const Outcome o = parse(c.bytes);
    CHECK(o.state == State::Error);
    CHECK(o.status == c.status);
  }
}

TEST_CASE("http: header section limit is exact (431 beyond)") {
  HttpLimits limits;
  limits.max_header_bytes = 200;
  const std::string head = "GET / HTTP/1.1\r\nHost: h\r\nX-Pad: ";
  const std::string tail = "\r\n\r\n";
  const std::string fits = head + std::string(200 - head.size() - tail.size(), 'a') + tail;
  REQUIRE(fits.size() == 200);

  Outcome o = parse(fits + "trailing bytes", limits);
  CHECK(o.state == State::Complete);
  CHECK(o.consumed == 200);

  const std::string over = head + std::string(201 - head.size() - tail.size(), 'a') + tail;
  o = parse(over, limits);
  CHECK(o.state == State::Error);
  CHECK(o.status == 431);

  SUBCASE("a long request line counts too") {
    o = parse("GET /" + std::string(300, 'x') + " HTTP/1.1\r\n\r\n", limits);
    CHECK(o.status == 431);
  }
  SUBCASE("an endless header section is cut off without waiting for its end") {
    o = parse("GET / HTTP/1.1\r\nX: " + std::string(5000, 'y'), limits);
    CHECK(o.state == State::Error);
    CHECK(o.status == 431);
  }
  SUBCASE("the default limit applies") {
    o = parse("GET / HTTP/1.1\r\nX: " + std::string(9000, 'y') + "\r\n\r\n");
    CHECK(o.status == 431);
  }
}

TEST_CASE("http: header count limit (431 beyond)") {
  HttpLimits limits;
  limits.max_headers = 3;
  const std::string three = "GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n";
  Outcome o = parse(three, limits);
  CHECK(o.state == State::Complete);
  CHECK(o.request.headers.size() == 3);

  o = parse("GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\n\r\n", limits);
  CHECK(o.state == State::Error);
  CHECK(o.status == 431);

  std::string many = "GET / HTTP/1.1\r\n";
  for (int i = 0; i < 65; ++i) many += "H" + std::to_string(i) + ": v\r\n";
  o = parse(many + "\r\n");
  CHECK(o.status == 431);
}

TEST_CASE("http: Content-Length body") {
  const std::string req = "POST /submit HTTP/1.1\r\nHost: h\r\nContent-Length: 11\r\n\r\nhello world";
  const Outcome o = parse(req + "GET / HTTP/1.1\r\n\r\n");
  REQUIRE(o.state == State::Complete);
  CHECK(o.consumed == req.size());
  CHECK(o.request.method == "POST");
  CHECK(o.request.body == "hello world");
}

TEST_CASE("http: chunked body, trailers not kept") {
  const std::string req =
      "POST /up HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
      "5\r\nhello\r\n"
      "1;ext=1\r\n \r\n"
      "5\r\nworld\r\n"
      "0\r\nX-Trailer: t\r\n\r\n";
  const Outcome o = parse(req + "NEXT");
  REQUIRE(o.state == State::Complete);
  CHECK(o.consumed == req.size());
  CHECK(o.request.body == "hello world");
  CHECK(o.request.header("X-Trailer") == nullptr);
  CHECK(o.request.headers.size() == 2);
}

TEST_CASE("http: body limit (413 beyond)") {
  HttpLimits limits;
  limits.max_body_bytes = 10;
  Outcome o = parse("POST / HTTP/1.1\r\nContent-Length: 10\r\n\r\n0123456789", limits);
  CHECK(o.state == State::Complete);
  CHECK(o.request.body == "0123456789");

  o = parse("POST / HTTP/1.1\r\nContent-Length: 11\r\n\r\n", limits);
  CHECK(o.state == State::Error);
  CHECK(o.status == 413);

  o = parse("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n01234\r\n5\r\n56789\r\n0\r\n\r\n",
            limits);
  CHECK(o.state == State::Complete);
  CHECK(o.request.body == "0123456789");

  o = parse("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n6\r\n012345\r\n5\r\n6789a\r\n0\r\n\r\n",
            limits);
  CHECK(o.state == State::Error);
  CHECK(o.status == 413);

  o = parse("POST / HTTP/1.1\r\nContent-Length: 99999999999999999999\r\n\r\n", limits);
  CHECK(o.state == State::Error);
  CHECK((o.status == 400 || o.status == 413));
}

TEST_CASE("http: upgrade request followed by frame bytes stops at the end of headers") {
  const std::string head =
      "GET /ws HTTP/1.1\r\n"
      "Host: h\r\n"
      "Upgrade: websocket\r\n"
      "Connection: keep-alive, Upgrade\r\n"
      "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
      "Sec-WebSocket-Version: 13\r\n"
      "\r\n";
  const std::string frame("\x81\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58", 11);
  for (const std::string& upgrade_connection : {std::string("Upgrade"), std::string("close")}) {
    CAPTURE(upgrade_connection);  // with and without http_parser's own upgrade detection
    std::string req = head;
    if (upgrade_connection == "close") {
      req.replace(req.find("keep-alive, Upgrade"), 19, "close");
    }
    const Outcome o = parse(req + frame);
    REQUIRE(o.state == State::Complete);
    CHECK(o.consumed == req.size());
    CHECK(o.request.path == "/ws");
    CHECK(o.request.header_has_token("Upgrade", "websocket"));
  }

  HttpRequestParser parser({});
  const std::string all = head + frame;
  CHECK(parser.feed(all.data(), all.size()) == head.size());
  CHECK(parser.upgrade());
  CHECK(parser.feed(frame.data(), frame.size()) == 0);  // nothing more once Complete
}

TEST_CASE("http: pipelined requests, each consumed alone, under every split") {
  const std::vector<std::string> reqs = {
      "GET /one HTTP/1.1\r\nHost: h\r\n\r\n",
      "POST /two HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabc",
      "POST /three HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nxy\r\n0\r\n\r\n",
      "GET /four HTTP/1.1\r\nConnection: close\r\n\r\n",
  };
  std::string stream;
  for (const auto& r : reqs) stream += r;

  for (unsigned seed = 0; seed <= 5; ++seed) {
    CAPTURE(seed);  // 0: everything in one buffer
    const std::vector<size_t> sizes =
        seed == 0 ? std::vector<size_t>{stream.size()} : random_split(stream.size(), seed);
    HttpRequestParser parser({});
    std::vector<std::string> paths, bodies;
    std::string pending;  // bytes received but not consumed yet, as a server keeps them
    size_t pos = 0;
    for (size_t size : sizes) {
      pending.append(stream, pos, size);
      pos += size;
      while (!pending.empty()) {
        const size_t n = parser.feed(pending.data(), pending.size());
        pending.erase(0, n);
        if (parser.state() != State::Complete) break;
        paths.push_back(parser.request().path);
        bodies.push_back(parser.request().body);
        parser.reset();
      }
      REQUIRE(parser.state() == State::Incomplete);
    }
    CHECK(pending.empty());
    CHECK(paths == std::vector<std::string>{"/one", "/two", "/three", "/four"});
    CHECK(bodies == std::vector<std::string>{"", "abc", "xy", ""});
  }
}

TEST_CASE("http: keep-alive follows the version and Connection") {
  struct Case {
    std::string request;
    bool keep_alive;
  };
  const Case cases[] = {
      {"GET / HTTP/1.1\r\n\r\n", true},
      {"GET / HTTP/1.1\r\nConnection: close\r\n\r\n", false},
      {"GET / HTTP/1.1\r\nConnection: CLOSE\r\n\r\n", false},
      {"GET / HTTP/1.0\r\n\r\n", false},
      {"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", true},
  };
  for (const Case& c : cases) {
    CAPTURE(c.request);
    const Outcome o = parse(c.request);
    REQUIRE(o.state == State::Complete);
    CHECK(o.request.keep_alive == c.keep_alive);
  }
}

TEST_CASE("http: headers are case-insensitive, repeated ones kept apart, values trimmed") {
  const Outcome o = parse(
      "GET / HTTP/1.1\r\n"
      "host: example.com\r\n"
      "Cookie: a=1\r\n"
      "X-Empty:\r\n"
      "COOKIE:\t b=2 \t\r\n"
      "Connection: keep-alive, Upgrade\r\n"
      "connection: TE\r\n"
      "\r\n");
  REQUIRE(o.state == State::Complete);
  const HttpRequest& r = o.request;
  CHECK(headers_of(r) ==
        "host=example.com|Cookie=a=1|X-Empty=|COOKIE=b=2|Connection=keep-alive, Upgrade|"
        "connection=TE|");
  REQUIRE(r.header("HOST") != nullptr);
  CHECK(*r.header("HOST") == "example.com");
  CHECK(*r.header("cookie") == "a=1");
  CHECK(r.header("X-Missing") == nullptr);
  CHECK(*r.header("x-empty") == "");
  CHECK(r.header_joined("Cookie") == "a=1, b=2");
  CHECK(r.header_joined("Connection") == "keep-alive, Upgrade, TE");
  CHECK(r.header_joined("X-Missing") == "");
}

TEST_CASE("http: folded header lines (obs-fold) are joined by their whitespace") {
  const Outcome o = parse("GET / HTTP/1.1\r\nX: a\r\n  b\r\nY: c\r\n\r\n");
  REQUIRE(o.state == State::Complete);
  CHECK(headers_of(o.request) == "X=a  b|Y=c|");
}

TEST_CASE("http: header_has_token") {
  HttpRequest r;
  r.headers = {{"Connection", "keep-alive, Upgrade"},
               {"Upgrade", " WebSocket "},
               {"X-List", "a,,b ,\tc\t"},
               {"x-list", "d"},
               {"X-Prefix", "websockets, upgraded"}};
  struct Case {
    std::string name;
    std::string token;
    bool has;
  };
  const Case cases[] = {
      {"Connection", "upgrade", true},   {"connection", "KEEP-ALIVE", true},
      {"Connection", "close", false},    {"Upgrade", "websocket", true},
      {"X-List", "a", true},             {"X-List", "b", true},
      {"X-List", "c", true},             {"X-List", "d", true},
      {"X-List", "e", false},            {"X-Prefix", "websocket", false},
      {"X-Prefix", "upgrade", false},    {"Missing", "a", false},
  };
  for (const Case& c : cases) {
    CAPTURE(c.name);
    CAPTURE(c.token);
    CHECK(r.header_has_token(c.name, c.token) == c.has);
  }
}

TEST_CASE("http: reset after an error and after a complete request") {
  HttpRequestParser parser({});
  const std::string bad = "BAD\r\n\r\n";
  parser.feed(bad.data(), bad.size());
  REQUIRE(parser.state() == State::Error);
  CHECK(parser.error_status() == 400);
  CHECK(parser.feed("GET", 3) == 0);

  parser.reset();
  CHECK(parser.state() == State::Incomplete);
  CHECK(parser.error_status() == 0);
  const std::string good = "GET /x HTTP/1.1\r\nA: 1\r\n\r\n";
  CHECK(parser.feed(good.data(), good.size()) == good.size());
  REQUIRE(parser.state() == State::Complete);
  CHECK(parser.request().path == "/x");
  CHECK_FALSE(parser.upgrade());

  parser.reset();
  CHECK(parser.request().headers.empty());
  CHECK(parser.request().target.empty());
  CHECK(parser.feed(good.data(), good.size()) == good.size());
  CHECK(parser.request().headers.size() == 1);
  CHECK(parser.feed(nullptr, 0) == 0);
}

TEST_CASE("http: url_decode") {
  struct Case {
    std::string in;
    std::string out;
  };
  const Case cases[] = {
      {"", ""},           {"abc", "abc"},          {"a+b", "a b"},
      {"a%20b", "a b"},   {"%41%42%43", "ABC"},    {"%e2%82%AC", "\xe2\x82\xac"},
      {"100%", "100%"},   {"%4", "%4"},            {"%zz", "%zz"},
      {"%2B", "+"},       {"%00x", std::string("\0x", 2)},
  };
  for (const Case& c : cases) {
    CAPTURE(c.in);
    CHECK(wsd::core::url_decode(c.in) == c.out);
  }
}

TEST_CASE("http: query_param") {
  struct Case {
    std::string query;
    std::string key;
    std::string value;
  };
  const Case cases[] = {
      {"a=1&b=2", "a", "1"},          {"a=1&b=2", "b", "2"},
      {"a=1&b=2", "c", ""},           {"", "a", ""},
      {"name=a+b%21", "name", "a b!"}, {"a=1&a=2", "a", "1"},
      {"flag&x=1", "flag", ""},       {"x=1&flag", "x", "1"},
      {"my%20key=v", "my key", "v"},  {"ab=1", "a", ""},
      {"a==1", "a", "=1"},            {"&&a=1&", "a", "1"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.query);
    CAPTURE(c.key);
    CHECK(wsd::core::query_param(c.query, c.key) == c.value);
  }
}

TEST_CASE("has_valid_host: exactly one Host in HTTP/1.1, optional in HTTP/1.0") {
  using wsd::core::HttpRequest;
  HttpRequest r;
  r.version_minor = 1;
  CHECK_FALSE(wsd::core::has_valid_host(r));
  r.headers.push_back({"HOST", "a"});
  CHECK(wsd::core::has_valid_host(r));
  r.headers.push_back({"host", "b"});
  CHECK_FALSE(wsd::core::has_valid_host(r));
  HttpRequest old;
  old.version_minor = 0;
  CHECK(wsd::core::has_valid_host(old));
}
