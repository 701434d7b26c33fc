// Which close codes may appear where (RFC 6455 §7.4).
#pragma once

#include <cstdint>
#include <string_view>

namespace wsd::core {

// A code a peer may send in a close frame: 1000-1003, 1007-1011 (and the
// registered 1012-1014), 3000-4999. Below 1000, 1004-1006, 1015, 1016-2999
// and 5000+ are invalid on the wire.
bool is_valid_wire_close_code(uint16_t code);

// A code an application may pass to disconnect(): 1000 or 4000-4999 (manual).
bool is_valid_application_close_code(uint16_t code);

enum class ClosePayloadError { None, OneByte, BadCode, BadUtf8 };

struct ParsedClose {
  ClosePayloadError error = ClosePayloadError::None;
  uint16_t code = 1005;          // 1005 when the payload is empty
  std::string_view reason;       // points into the payload
};

// Parses a received close frame payload (already unmasked).
ParsedClose parse_close_payload(const uint8_t* data, size_t len);

}  // namespace wsd::core
