// Tests of core/handshake.cc. Requests go through the real parser (whole, one
// byte at a time and in seeded random splits) before the handshake checks.
#include "core/handshake.h"

#include <doctest/doctest.h>

#include <random>
#include <string>
#include <vector>

#include "core/http_response.h"

using wsd::core::build_handshake_refusal;
using wsd::core::build_handshake_response;
using wsd::core::compute_accept_key;
using wsd::core::evaluate_handshake;
using wsd::core::HandshakeConfig;
using wsd::core::HandshakeResult;
using wsd::core::HttpRequest;
using wsd::core::HttpRequestParser;
using State = wsd::core::HttpRequestParser::State;

namespace {

const std::string kKey = "dGhlIHNhbXBsZSBub25jZQ==";  // RFC 6455 §1.3
const std::string kAccept = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";  // RFC 6455 §1.3

// The RFC 6455 §1.3 opening handshake, minus the optional headers.
const std::string kValid =
    "GET /chat HTTP/1.1\r\n"
    "Host: server.example.com\r\n"
    "Upgrade: websocket\r\n"
    "Connection: Upgrade\r\n"
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
    "Sec-WebSocket-Version: 13\r\n"
    "\r\n";

// kValid with header `name` replaced by `line` (a whole "Name: value" line,
// or "" to drop it); with `name` absent, `line` is appended.
std::string with_header(const std::string& name, const std::string& line,
                        std::string request = kValid) {
  const size_t at = request.find("\r\n" + name + ":");
  if (at == std::string::npos) {
    request.insert(request.size() - 2, line + "\r\n");
    return request;
  }
  const size_t end = request.find("\r\n", at + 2);
  request.replace(at + 2, end + 2 - (at + 2), line.empty() ? "" : line + "\r\n");
  return request;
}

HttpRequest parse_with(const std::string& bytes, const std::vector<size_t>& sizes) {
  HttpRequestParser parser({});
  size_t pos = 0;
  for (size_t size : sizes) {
    parser.feed(bytes.data() + pos, size);
    pos += size;
    if (parser.state() != State::Incomplete) break;
  }
  REQUIRE(parser.state() == State::Complete);
  return parser.request();
}

std::vector<std::vector<size_t>> splits(size_t len) {
  std::vector<std::vector<size_t>> all{{len}, std::vector<size_t>(len, 1)};
  for (unsigned seed = 1; seed <= 3; ++seed) {
    std::mt19937 rng(seed);
    std::vector<size_t> sizes;
    for (size_t left = len; left > 0;) {
      const size_t n = std::min<size_t>(left, 1 + rng() % 13);
      sizes.push_back(n);
      left -= n;
    }
    all.push_back(sizes);
  }
  return all;
}

// Parses every way, evaluates each, checks they agree, returns the first.
HandshakeResult handshake(const std::string& bytes, const HandshakeConfig& config = {}) {
  std::vector<HandshakeResult> results;
  for (const auto& sizes : splits(bytes.size())) {
    results.push_back(evaluate_handshake(parse_with(bytes, sizes), config));
  }
  for (const HandshakeResult& r : results) {
    CHECK(r.status == results[0].status);
    CHECK(r.accept_key == results[0].accept_key);
    CHECK(r.subprotocol == results[0].subprotocol);
    CHECK(r.deflate.has_value() == results[0].deflate.has_value());
  }
  return results[0];
}

bool has_line(const std::string& response, const std::string& line) {
  return response.find("\r\n" + line + "\r\n") != std::string::npos;
}

}  // namespace

TEST_CASE("handshake: RFC 6455 §1.3 accept key") {
  CHECK(compute_accept_key(kKey) == kAccept);
  CHECK(compute_accept_key("AQIDBAUGBwgJCgsMDQ4PEA==").size() == 28);
}

TEST_CASE("handshake: the RFC example is accepted and answered with 101") {
  const HandshakeResult r = handshake(kValid);
  REQUIRE(r.status == 101);
  CHECK(r.accept_key == kAccept);
  CHECK(r.subprotocol.empty());
  CHECK_FALSE(r.deflate.has_value());
  CHECK(build_handshake_response(r) ==
        "HTTP/1.1 101 Switching Protocols\r\n"
        "Upgrade: websocket\r\n"
        "Connection: Upgrade\r\n"
        "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"
        "\r\n");
  CHECK(build_handshake_response(r, {{"Set-Cookie", "a=1"}}) ==
        "HTTP/1.1 101 Switching Protocols\r\n"
        "Upgrade: websocket\r\n"
        "Connection: Upgrade\r\n"
        "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"
        "Set-Cookie: a=1\r\n"
        "\r\n");
}

TEST_CASE("handshake: request checks") {
  struct Case {
    std::string name;
    std::string request;
    int status;
  };
  const Case cases[] = {
      {"valid", kValid, 101},
      {"header names in any case",
       "GET / HTTP/1.1\r\nhost: h\r\nUPGRADE: WebSocket\r\nconnection: keep-alive, upgrade\r\n"
       "sec-websocket-key: " + kKey + "\r\nSEC-WEBSOCKET-VERSION: 13\r\n\r\n",
       101},
      {"repeated Connection header", with_header("Connection", "Connection: keep-alive\r\nConnection: Upgrade"), 101},
      {"Upgrade list", with_header("Upgrade", "Upgrade: h2c, websocket"), 101},
      {"HTTP/1.2 is later than 1.1", "GET /chat HTTP/1.2" + kValid.substr(kValid.find("\r\n")), 101},
      {"POST", "POST" + kValid.substr(3), 400},
      {"HEAD", "HEAD" + kValid.substr(3), 400},
      {"HTTP/1.0", "GET /chat HTTP/1.0" + kValid.substr(kValid.find("\r\n")), 400},
      {"no Host", with_header("Host", ""), 400},
      {"empty Host", with_header("Host", "Host:"), 400},
      {"no Upgrade", with_header("Upgrade", ""), 400},
      {"Upgrade not websocket", with_header("Upgrade", "Upgrade: h2c"), 400},
      {"Upgrade websockets", with_header("Upgrade", "Upgrade: websockets"), 400},
      {"no Connection", with_header("Connection", ""), 400},
      {"Connection without Upgrade", with_header("Connection", "Connection: keep-alive"), 400},
      {"Connection Upgraded", with_header("Connection", "Connection: Upgraded"), 400},
      {"no version", with_header("Sec-WebSocket-Version", ""), 426},
      {"version 8", with_header("Sec-WebSocket-Version", "Sec-WebSocket-Version: 8"), 426},
      {"version 13, 8", with_header("Sec-WebSocket-Version", "Sec-WebSocket-Version: 13, 8"), 426},
      {"no key", with_header("Sec-WebSocket-Key", ""), 400},
      {"empty key", with_header("Sec-WebSocket-Key", "Sec-WebSocket-Key:"), 400},
      {"key of 15 bytes", with_header("Sec-WebSocket-Key", "Sec-WebSocket-Key: AQIDBAUGBwgJCgsMDQ4P"), 400},
      {"key of 16 bytes", with_header("Sec-WebSocket-Key", "Sec-WebSocket-Key: AQIDBAUGBwgJCgsMDQ4PEA=="), 101},
      {"key of 17 bytes", with_header("Sec-WebSocket-Key", "Sec-WebSocket-Key: AQIDBAUGBwgJCgsMDQ4PEBE="), 400},
      {"key not base64", with_header("Sec-WebSocket-Key", "Sec-WebSocket-Key: !!!!!!!!!!!!!!!!!!!!!!=="), 400},
      {"key without padding", with_header("Sec-WebSocket-Key", "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ"), 400},
      {"key with inner space", with_header("Sec-WebSocket-Key", "Sec-WebSocket-Key: dGhlIHNhbXBs ZSBub25jZQ=="), 400},
      {"key with padding inside", with_header("Sec-WebSocket-Key", "Sec-WebSocket-Key: dGhl=HNhbXBsZSBub25jZQ=="), 400},
      {"key twice", with_header("Sec-WebSocket-Key", "Sec-WebSocket-Key: " + kKey + "\r\nSec-WebSocket-Key: " + kKey), 400},
  };
  for (const Case& c : cases) {
    INFO(c.name);
    const HandshakeResult r = handshake(c.request);
    CHECK(r.status == c.status);
    if (r.status != 101) CHECK_FALSE(r.reason.empty());
  }
}

TEST_CASE("handshake: refusals") {
  HandshakeResult r = handshake(with_header("Sec-WebSocket-Version", "Sec-WebSocket-Version: 7"));
  REQUIRE(r.status == 426);
  std::string out = build_handshake_refusal(r);
  CHECK(out.starts_with("HTTP/1.1 426 Upgrade Required\r\n"));
  CHECK(has_line(out, "Sec-WebSocket-Version: 13"));
  CHECK(has_line(out, "Connection: close"));
  CHECK(has_line(out, "Content-Type: text/plain; charset=utf-8"));
  const std::string body = out.substr(out.find("\r\n\r\n") + 4);
  CHECK_FALSE(body.empty());
  CHECK(has_line(out, "Content-Length: " + std::to_string(body.size())));

  r = handshake("POST" + kValid.substr(3));
  out = build_handshake_refusal(r);
  CHECK(out.starts_with("HTTP/1.1 400 Bad Request\r\n"));
  CHECK(out.find("Sec-WebSocket-Version") == std::string::npos);
  CHECK(has_line(out, "Connection: close"));
}

TEST_CASE("handshake: origin check") {
  HandshakeConfig config;
  config.allowed_origins = {"https://a.example", "http://b.example:8080"};
  struct Case {
    std::string origin_line;
    int status;
  };
  const Case cases[] = {
      {"", 403},
      {"Origin: https://a.example", 101},
      {"Origin: HTTPS://A.EXAMPLE", 101},
      {"Origin: http://b.example:8080", 101},
      {"Origin: http://b.example", 403},
      {"Origin: https://a.example.evil", 403},
      {"Origin: null", 403},
      {"Origin:", 403},
  };
  for (const Case& c : cases) {
    CAPTURE(c.origin_line);
    const std::string req = c.origin_line.empty() ? kValid : with_header("Origin", c.origin_line);
    const HandshakeResult r = handshake(req, config);
    CHECK(r.status == c.status);
    if (r.status == 403) CHECK(build_handshake_refusal(r).starts_with("HTTP/1.1 403 Forbidden\r\n"));
  }
  // No list: any origin, or none, is fine.
  CHECK(handshake(with_header("Origin", "Origin: https://x.example")).status == 101);
}

TEST_CASE("handshake: subprotocol is chosen only when offered") {
  HandshakeConfig config;
  config.subprotocol = "chat";
  struct Case {
    std::string offer;  // Sec-WebSocket-Protocol line(s); "" for none
    std::string chosen;
  };
  const Case cases[] = {
      {"", ""},
      {"Sec-WebSocket-Protocol: chat", "chat"},
      {"Sec-WebSocket-Protocol: superchat, chat", "chat"},
      {"Sec-WebSocket-Protocol: superchat,chat ", "chat"},
      {"Sec-WebSocket-Protocol: superchat\r\nSec-WebSocket-Protocol: chat", "chat"},
      {"sec-websocket-protocol: chat", "chat"},
      {"Sec-WebSocket-Protocol: Chat", ""},  // tokens are case-sensitive
      {"Sec-WebSocket-Protocol: chatty, xchat", ""},
      {"Sec-WebSocket-Protocol: mqtt", ""},
  };
  for (const Case& c : cases) {
    CAPTURE(c.offer);
    const std::string req = c.offer.empty() ? kValid : with_header("Sec-WebSocket-Protocol", c.offer);
    const HandshakeResult r = handshake(req, config);
    REQUIRE(r.status == 101);
    CHECK(r.subprotocol == c.chosen);
    const std::string out = build_handshake_response(r);
    CHECK(has_line(out, "Sec-WebSocket-Protocol: chat") == !c.chosen.empty());
  }
  // Without a configured subprotocol the server never answers with one.
  const HandshakeResult r = handshake(with_header("Sec-WebSocket-Protocol", "Sec-WebSocket-Protocol: chat"));
  CHECK(r.subprotocol.empty());
  CHECK(build_handshake_response(r).find("Sec-WebSocket-Protocol") == std::string::npos);
}

TEST_CASE("handshake: permessage-deflate is negotiated only when enabled") {
  const std::string offered =
      with_header("Sec-WebSocket-Extensions",
                  "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits");
  HandshakeConfig on;
  on.deflate.enabled = true;

  HandshakeResult r = handshake(offered, on);
  REQUIRE(r.status == 101);
  REQUIRE(r.deflate.has_value());
  std::string out = build_handshake_response(r);
  CHECK(has_line(out, "Sec-WebSocket-Extensions: " + wsd::core::deflate_response_header(*r.deflate)));

  r = handshake(offered, HandshakeConfig{});
  CHECK_FALSE(r.deflate.has_value());
  CHECK(build_handshake_response(r).find("Sec-WebSocket-Extensions") == std::string::npos);

  r = handshake(kValid, on);
  CHECK_FALSE(r.deflate.has_value());
  CHECK(build_handshake_response(r).find("Sec-WebSocket-Extensions") == std::string::npos);
}

TEST_CASE("handshake: is_websocket_upgrade") {
  struct Case {
    std::string upgrade_line;
    bool is_upgrade;
  };
  const Case cases[] = {
      {"Upgrade: websocket", true},   {"Upgrade: WebSocket", true},
      {"Upgrade: h2c, websocket", true}, {"Upgrade: h2c", false},
      {"", false},
  };
  for (const Case& c : cases) {
    CAPTURE(c.upgrade_line);
    HttpRequest req;
    req.headers.push_back({"Host", "h"});
    if (!c.upgrade_line.empty()) {
      const size_t colon = c.upgrade_line.find(':');
      req.headers.push_back({c.upgrade_line.substr(0, colon), c.upgrade_line.substr(colon + 2)});
    }
    CHECK(wsd::core::is_websocket_upgrade(req) == c.is_upgrade);
  }
}
