// The server's opening handshake (RFC 6455 §4.2): checking the upgrade request
// and building the 101 answer, with subprotocol and permessage-deflate.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/http_request.h"
#include "core/permessage_deflate.h"

namespace wsd::core {

struct HandshakeConfig {
  std::string subprotocol;                   // Swoole's websocket_subprotocol; "" = none
  std::vector<std::string> allowed_origins;  // empty = any origin
  DeflateConfig deflate;
};

struct HandshakeResult {
  int status = 400;               // 101 on success; 400, 403 or 426 on refusal
  std::string_view reason;        // why it was refused (static text, for logs)
  std::string accept_key;         // Sec-WebSocket-Accept
  std::string subprotocol;        // chosen; empty when none
  std::optional<DeflateParams> deflate;  // agreed compression, if any
};

// True when the request asks for a WebSocket upgrade (Upgrade holds the token
// "websocket"), i.e. it must go through the handshake rather than be served
// as a plain HTTP request.
bool is_websocket_upgrade(const HttpRequest& request);

// Checks the request: GET, HTTP/1.1 or later, Host, Upgrade: websocket,
// Connection: Upgrade, a Sec-WebSocket-Key of 16 bytes, Sec-WebSocket-Version
// 13 (else 426), allowed Origin (else 403); picks subprotocol and compression.
HandshakeResult evaluate_handshake(const HttpRequest& request, const HandshakeConfig& config);

// base64(SHA-1(key + GUID)) (RFC 6455 §1.3).
std::string compute_accept_key(std::string_view key);

// The 101 Switching Protocols response, with `extra_headers` appended.
std::string build_handshake_response(const HandshakeResult& result,
                                     const std::vector<HttpHeader>& extra_headers = {});

// The refusal: status, a short body, Connection: close, and for 426
// `Sec-WebSocket-Version: 13`.
std::string build_handshake_refusal(const HandshakeResult& result);

}  // namespace wsd::core
