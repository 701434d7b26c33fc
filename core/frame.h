// Frame header encoding, and the manual's pack/unpack of whole frames.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/constants.h"

namespace wsd::core {

class Deflater;

// Writes a frame header into `out` (at least kMaxFrameHeaderSize bytes) and
// returns its length: 2, 4 or 10 bytes, plus 4 when `mask` is given (client
// frames). Server frames are never masked. `rsv1` marks a compressed message
// (RFC 7692: first frame of the message only).
size_t write_frame_header(uint8_t* out, uint8_t opcode, bool fin, bool rsv1,
                          uint64_t payload_len, const uint8_t* mask = nullptr);

// Size of the header write_frame_header would produce.
constexpr size_t frame_header_size(uint64_t payload_len, bool masked) {
  size_t n = payload_len < 126 ? 2 : payload_len <= 0xFFFF ? 4 : 10;
  return masked ? n + 4 : n;
}

// Close frame payload: 2-byte code in network order, then the reason. The
// reason is cut to fit 125 bytes in all (at a UTF-8 boundary).
std::string close_payload(uint16_t code, std::string_view reason);

// The manual's Frame::pack: a complete server frame (header + payload).
// flags: kFlagFin, kFlagCompress. With kFlagCompress and a deflater the payload
// is compressed and RSV1 set; without a deflater kFlagCompress is ignored.
std::string pack(std::string_view data, uint8_t opcode = static_cast<uint8_t>(Opcode::Text),
                 uint8_t flags = kFlagFin, Deflater* deflater = nullptr);

// The manual's CloseFrame: a close frame with code and reason.
std::string pack_close(uint16_t code, std::string_view reason = {});

struct UnpackedFrame {
  uint8_t opcode = 0;
  uint8_t flags = 0;         // kFlagFin, kFlagCompress (RSV1 was set)
  std::string data;          // payload, unmasked
  uint16_t code = 0;         // close frames: status code (1005 when absent)
  std::string reason;        // close frames: reason
  size_t frame_size = 0;     // bytes of `bytes` the frame occupied
};

// The manual's Frame::unpack: decodes the single frame at the start of
// `bytes` (masked or not). Returns nullopt when the bytes hold no complete,
// well-formed frame. Does not inflate.
std::optional<UnpackedFrame> unpack(std::string_view bytes);

}  // namespace wsd::core
