// Protocol constants of RFC 6455 and the names the Swoole manual gives them.
#pragma once

#include <cstdint>

namespace wsd::core {

// Frame opcodes (RFC 6455 §5.2). Swoole: WEBSOCKET_OPCODE_*.
enum class Opcode : uint8_t {
  Continuation = 0x0,
  Text = 0x1,
  Binary = 0x2,
  Close = 0x8,
  Ping = 0x9,
  Pong = 0xA,
};

constexpr bool is_control_opcode(uint8_t op) { return (op & 0x8) != 0; }
constexpr bool is_known_opcode(uint8_t op) {
  return op <= 0x2 || (op >= 0x8 && op <= 0xA);
}

// Connection status as get_client_info reports it. Swoole: WEBSOCKET_STATUS_*.
enum class ConnectionStatus : uint8_t {
  Connection = 1,  // waiting for the handshake request
  Handshake = 2,   // handshake in progress
  Active = 3,      // established, frames flow
  Closing = 4,     // close handshake under way
};

// Frame flags of push/pack. Swoole: SWOOLE_WEBSOCKET_FLAG_*.
enum FrameFlag : uint8_t {
  kFlagFin = 1 << 0,
  kFlagCompress = 1 << 1,
};

// Close status codes (RFC 6455 §7.4.1). Swoole: WEBSOCKET_CLOSE_*.
namespace close_code {
constexpr uint16_t kNormal = 1000;
constexpr uint16_t kGoingAway = 1001;
constexpr uint16_t kProtocolError = 1002;
constexpr uint16_t kDataError = 1003;        // unsupported data
constexpr uint16_t kStatusError = 1005;      // no status code present (never sent)
constexpr uint16_t kAbnormal = 1006;         // closed without a close frame (never sent)
constexpr uint16_t kMessageError = 1007;     // invalid payload data, e.g. bad UTF-8
constexpr uint16_t kPolicyError = 1008;
constexpr uint16_t kMessageTooBig = 1009;
constexpr uint16_t kExtensionMissing = 1010;
constexpr uint16_t kServerError = 1011;
constexpr uint16_t kTls = 1015;              // TLS handshake failure (never sent)
}  // namespace close_code

constexpr uint64_t kDefaultPackageMaxLength = 2 * 1024 * 1024;  // Swoole's package_max_length
constexpr size_t kMaxControlPayload = 125;
constexpr size_t kMaxFrameHeaderSize = 14;  // 2 + 8 (64-bit length) + 4 (mask)

}  // namespace wsd::core
