// Fuzzes HttpRequestParser and the handshake built on it.
//
// Input: byte 0 picks the chunk size the bytes are fed in (0 = whole), byte 1
// picks tight or default limits; the rest is the connection's byte stream.
// The stream is parsed twice, whole and chunked, as a server would (reset
// after each complete request, up to a few pipelined ones), and both runs
// must agree. Every complete upgrade request goes through the handshake.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "core/handshake.h"
#include "core/http_request.h"
#include "core/http_response.h"

using namespace wsd::core;

namespace {

void require(bool ok) {
  if (!ok) abort();
}

// What one request came to: enough to compare two runs.
struct Seen {
  HttpRequestParser::State state;
  int status;
  size_t consumed;
  std::string summary;
};

std::string summarize(const HttpRequest& r) {
  std::string s = r.method + ' ' + r.target + ' ' + r.path + '?' + r.query + ' ' +
                  std::to_string(r.version_major) + '.' + std::to_string(r.version_minor) +
                  (r.keep_alive ? " ka\n" : " close\n");
  for (const HttpHeader& h : r.headers) s += h.name + ':' + h.value + '\n';
  return s + r.body;
}

// A complete response has exactly one blank line ending the header section:
// no header value managed to smuggle in another.
void check_response_shape(const std::string& response, size_t body_size) {
  const size_t end = response.find("\r\n\r\n");
  require(end != std::string::npos);
  require(end + 4 + body_size == response.size());
  require(response.starts_with("HTTP/1.1 "));
}

void run_handshake(const HttpRequest& request) {
  HandshakeConfig config;
  config.subprotocol = "chat";
  config.allowed_origins = {"https://a.example", "http://localhost:8080"};
  config.deflate.enabled = true;
  const HandshakeResult r = evaluate_handshake(request, config);
  if (r.status == 101) {
    require(r.accept_key.size() == 28);
    require(r.subprotocol.empty() || r.subprotocol == "chat");
    check_response_shape(build_handshake_response(r, {{"X-Fuzz", "1"}}), 0);
  } else {
    require(r.status == 400 || r.status == 403 || r.status == 426);
    require(!r.reason.empty());
    const std::string refusal = build_handshake_refusal(r);
    require(refusal.find("Connection: close\r\n") != std::string::npos);
    require((r.status == 426) == (refusal.find("Sec-WebSocket-Version: 13") != std::string::npos));
  }
}

void on_request(const HttpRequestParser& parser) {
  const HttpRequest& r = parser.request();
  require(r.path.size() <= r.target.size());
  (void)r.header_joined("Connection");
  (void)query_param(r.query, "a");
  if (is_websocket_upgrade(r)) {
    run_handshake(r);
  } else {
    check_response_shape(serialize_http_response(200, r.headers, r.body, r.keep_alive),
                         r.body.size());
  }
}

void on_error(const HttpRequestParser& parser) {
  const int s = parser.error_status();
  require(s == 400 || s == 413 || s == 431 || s == 505);
  require(!parser.error_reason().empty());
  check_response_shape(http_error_response(s), http_status_text(s).size() + 5);
}

// Parses the stream in `chunk`-sized pieces (0 = all at once).
std::vector<Seen> run(std::string_view stream, size_t chunk, const HttpLimits& limits) {
  std::vector<Seen> seen;
  HttpRequestParser parser(limits);
  std::string pending;
  size_t consumed = 0;
  for (size_t pos = 0; pos < stream.size() && seen.size() < 4;) {
    const size_t n = chunk == 0 ? stream.size() - pos : std::min(chunk, stream.size() - pos);
    pending.append(stream.substr(pos, n));
    pos += n;
    while (!pending.empty() && seen.size() < 4) {
      const size_t used = parser.feed(pending.data(), pending.size());
      require(used <= pending.size());
      pending.erase(0, used);
      consumed += used;
      if (parser.state() == HttpRequestParser::State::Incomplete) {
        require(pending.empty());  // an incomplete request takes everything
        break;
      }
      if (parser.state() == HttpRequestParser::State::Error) {
        on_error(parser);
        seen.push_back({parser.state(), parser.error_status(), 0, {}});
        return seen;  // the connection would be closed here
      }
      on_request(parser);
      seen.push_back({parser.state(), 0, consumed, summarize(parser.request())});
      if (is_websocket_upgrade(parser.request())) return seen;  // the rest is frames
      parser.reset();
    }
  }
  return seen;
}

// A request with several faults may be refused for a different one depending
// on where the bytes were split (a limit is checked when a callback runs, a
// syntax error when its byte is reached), so error statuses are not compared.
bool same(const Seen& a, const Seen& b) {
  if (a.state == HttpRequestParser::State::Error) return b.state == a.state;
  return a.state == b.state && a.consumed == b.consumed && a.summary == b.summary;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  const size_t chunk = data[0] % 32;
  HttpLimits limits;
  if (data[1] & 1) {
    limits.max_header_bytes = 256;
    limits.max_headers = 4;
    limits.max_body_bytes = 64;
  }
  const std::string_view stream(reinterpret_cast<const char*>(data + 2), size - 2);
  const std::vector<Seen> whole = run(stream, 0, limits);
  if (chunk == 0) return 0;
  const std::vector<Seen> split = run(stream, chunk, limits);
  require(whole.size() == split.size());
  for (size_t i = 0; i < whole.size(); ++i) require(same(whole[i], split[i]));
  return 0;
}
