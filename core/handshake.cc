#include "core/handshake.h"
#include "core/text.h"

#include <algorithm>

#include "core/http_response.h"
#include "core/sha1.h"

namespace wsd::core {

namespace {

constexpr std::string_view kWebSocketGuid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
constexpr size_t kKeyBytes = 16;  // RFC 6455 §4.1: a random 16-byte nonce

bool is_base64_char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
         c == '+' || c == '/';
}

// Length of the decoded bytes, or -1 when `s` is not canonical-shape base64
// (groups of 4 characters from the alphabet, at most two '=' at the end).
int base64_decoded_size(std::string_view s) {
  if (s.empty() || s.size() % 4 != 0 || s.size() > 1024) return -1;
  size_t pad = 0;
  while (pad < 2 && s[s.size() - 1 - pad] == '=') ++pad;
  const std::string_view body = s.substr(0, s.size() - pad);
  if (!std::all_of(body.begin(), body.end(), is_base64_char)) return -1;
  return static_cast<int>(s.size() / 4 * 3 - pad);
}

constexpr char kBase64Alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

std::string base64(const uint8_t* in, size_t n) {
  std::string out;
  out.reserve((n + 2) / 3 * 4);
  for (size_t i = 0; i < n; i += 3) {
    const uint32_t v = uint32_t{in[i]} << 16 | (i + 1 < n ? uint32_t{in[i + 1]} << 8 : 0) |
                       (i + 2 < n ? uint32_t{in[i + 2]} : 0);
    out += kBase64Alphabet[(v >> 18) & 63];
    out += kBase64Alphabet[(v >> 12) & 63];
    out += i + 1 < n ? kBase64Alphabet[(v >> 6) & 63] : '=';
    out += i + 2 < n ? kBase64Alphabet[v & 63] : '=';
  }
  return out;
}

bool valid_key(const HttpRequest& request) {
  const auto is_key = [](const HttpHeader& h) { return iequals(h.name, "Sec-WebSocket-Key"); };
  // RFC 6455 §11.3.1: the key must not appear more than once.
  if (std::count_if(request.headers.begin(), request.headers.end(), is_key) != 1) return false;
  const std::string* key = request.header("Sec-WebSocket-Key");
  return base64_decoded_size(*key) == static_cast<int>(kKeyBytes);
}

bool origin_allowed(const HttpRequest& request, const HandshakeConfig& config) {
  if (config.allowed_origins.empty()) return true;
  const std::string* origin = request.header("Origin");
  if (origin == nullptr) return false;
  // Scheme and host are case-insensitive (RFC 6454 §4), so the serialized
  // origins are compared that way.
  return std::any_of(config.allowed_origins.begin(), config.allowed_origins.end(),
                     [&](const std::string& allowed) { return iequals(allowed, *origin); });
}

// RFC 6455 §4.2.2: subprotocol tokens are compared case-sensitively, and the
// server may only answer with one the client offered.
bool client_offered(const HttpRequest& request, std::string_view protocol) {
  for (const HttpHeader& h : request.headers) {
    if (!iequals(h.name, "Sec-WebSocket-Protocol")) continue;
    std::string_view rest = h.value;
    while (!rest.empty()) {
      const size_t comma = rest.find(',');
      if (trim_ows(rest.substr(0, comma)) == protocol) return true;
      if (comma == std::string_view::npos) break;
      rest.remove_prefix(comma + 1);
    }
  }
  return false;
}

HandshakeResult refuse(int status, std::string_view reason) {
  HandshakeResult r;
  r.status = status;
  r.reason = reason;
  return r;
}

// The checks of RFC 6455 §4.2.1, in order; returns the refusal, or nullopt
// when the request is a valid opening handshake.
std::optional<HandshakeResult> check_request(const HttpRequest& request,
                                             const HandshakeConfig& config) {
  // 400 rather than 405: a 405 would owe an Allow header, and RFC 6455 only
  // asks for "an appropriate HTTP error code".
  if (request.method != "GET") return refuse(400, "method is not GET");
  if (request.version_major < 1 || (request.version_major == 1 && request.version_minor < 1)) {
    return refuse(400, "HTTP version below 1.1");
  }
  const std::string* host = request.header("Host");
  if (host == nullptr || host->empty()) return refuse(400, "missing Host");
  if (!request.header_has_token("Upgrade", "websocket")) {
    return refuse(400, "Upgrade does not name websocket");
  }
  if (!request.header_has_token("Connection", "Upgrade")) {
    return refuse(400, "Connection does not name Upgrade");
  }
  // Checked before the key: a client of another protocol version may use a
  // different key format, and 426 tells it which version to retry with.
  if (request.header_joined("Sec-WebSocket-Version") != "13") {
    return refuse(426, "Sec-WebSocket-Version is not 13");
  }
  if (!valid_key(request)) return refuse(400, "invalid Sec-WebSocket-Key");
  if (!origin_allowed(request, config)) return refuse(403, "origin not allowed");
  return std::nullopt;
}

}  // namespace

bool is_websocket_upgrade(const HttpRequest& request) {
  return request.header_has_token("Upgrade", "websocket");
}

HandshakeResult evaluate_handshake(const HttpRequest& request, const HandshakeConfig& config) {
  if (auto refusal = check_request(request, config)) return *refusal;
  HandshakeResult result;
  result.status = 101;
  result.accept_key = compute_accept_key(*request.header("Sec-WebSocket-Key"));
  if (!config.subprotocol.empty() && client_offered(request, config.subprotocol)) {
    result.subprotocol = config.subprotocol;
  }
  if (config.deflate.enabled) {
    result.deflate =
        negotiate_deflate(request.header_joined("Sec-WebSocket-Extensions"), config.deflate);
  }
  return result;
}

std::string compute_accept_key(std::string_view key) {
  const Sha1Digest digest = sha1(key, kWebSocketGuid);
  return base64(digest.data(), digest.size());
}

std::string build_handshake_response(const HandshakeResult& result,
                                     const std::vector<HttpHeader>& extra_headers) {
  std::vector<HttpHeader> headers{{"Upgrade", "websocket"},
                                  {"Connection", "Upgrade"},
                                  {"Sec-WebSocket-Accept", result.accept_key}};
  if (!result.subprotocol.empty()) headers.push_back({"Sec-WebSocket-Protocol", result.subprotocol});
  if (result.deflate) {
    headers.push_back({"Sec-WebSocket-Extensions", deflate_response_header(*result.deflate)});
  }
  headers.insert(headers.end(), extra_headers.begin(), extra_headers.end());
  return serialize_http_response(101, headers, {}, true);
}

std::string build_handshake_refusal(const HandshakeResult& result) {
  std::vector<HttpHeader> headers{{"Content-Type", "text/plain; charset=utf-8"},
                                  {"Connection", "close"}};
  if (result.status == 426) headers.push_back({"Sec-WebSocket-Version", "13"});
  std::string body(http_status_text(result.status));
  if (!result.reason.empty()) {
    body.append(": ");
    body.append(result.reason);
  }
  body.push_back('\n');
  return serialize_http_response(result.status, headers, body, false);
}

}  // namespace wsd::core
