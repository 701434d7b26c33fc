#include "core/frame.h"

#include <cstring>

#include "core/close_code.h"
#include "core/mask.h"
#include "core/permessage_deflate.h"

namespace wsd::core {

namespace {

constexpr uint8_t kFin = 0x80;
constexpr uint8_t kRsv1 = 0x40;
constexpr uint8_t kRsv23 = 0x30;
constexpr uint8_t kMaskBit = 0x80;

// A frame header decoded from the start of a buffer.
struct Header {
  uint8_t first = 0;         // FIN, RSV1-3, opcode
  bool masked = false;
  uint64_t payload_len = 0;
  const uint8_t* mask = nullptr;
  size_t size = 0;           // header bytes
};

// Decodes the header at `p`; false when it is incomplete or has a 64-bit
// length with the top bit set (RFC 6455 §5.2).
bool decode_header(const uint8_t* p, size_t n, Header& h) {
  if (n < 2) return false;
  h.first = p[0];
  h.masked = (p[1] & kMaskBit) != 0;
  const uint8_t len7 = p[1] & 0x7F;
  size_t len_bytes = len7 == 126 ? 2 : len7 == 127 ? 8 : 0;
  h.size = 2 + len_bytes + (h.masked ? 4 : 0);
  if (n < h.size) return false;
  h.payload_len = len7;
  if (len_bytes > 0) {
    h.payload_len = 0;
    for (size_t i = 0; i < len_bytes; ++i) h.payload_len = h.payload_len << 8 | p[2 + i];
    if (h.payload_len >> 63) return false;
  }
  if (h.masked) h.mask = p + 2 + len_bytes;
  return true;
}

// The RFC 6455 §5.2 rules a single frame can break on its own.
bool well_formed(const Header& h) {
  const uint8_t op = h.first & 0x0F;
  if ((h.first & kRsv23) || !is_known_opcode(op)) return false;
  if (!is_control_opcode(op)) return true;
  return (h.first & kFin) && !(h.first & kRsv1) && h.payload_len <= kMaxControlPayload;
}

// Fills the close fields; false when the payload is not a valid close body.
bool decode_close(UnpackedFrame& f) {
  const auto* p = reinterpret_cast<const uint8_t*>(f.data.data());
  const ParsedClose c = parse_close_payload(p, f.data.size());
  if (c.error != ClosePayloadError::None) return false;
  f.code = c.code;
  f.reason = c.reason;
  return true;
}

}  // namespace

size_t write_frame_header(uint8_t* out, uint8_t opcode, bool fin, bool rsv1,
                          uint64_t payload_len, const uint8_t* mask) {
  out[0] = static_cast<uint8_t>((fin ? kFin : 0) | (rsv1 ? kRsv1 : 0) | (opcode & 0x0F));
  const uint8_t mask_bit = mask ? kMaskBit : 0;
  size_t n = 2;
  if (payload_len < 126) {
    out[1] = static_cast<uint8_t>(mask_bit | payload_len);
  } else if (payload_len <= 0xFFFF) {
    out[1] = mask_bit | 126;
    out[2] = static_cast<uint8_t>(payload_len >> 8);
    out[3] = static_cast<uint8_t>(payload_len);
    n = 4;
  } else {
    out[1] = mask_bit | 127;
    for (int i = 0; i < 8; ++i) out[2 + i] = static_cast<uint8_t>(payload_len >> (56 - 8 * i));
    n = 10;
  }
  if (mask) {
    std::memcpy(out + n, mask, 4);
    n += 4;
  }
  return n;
}

std::string close_payload(uint16_t code, std::string_view reason) {
  constexpr size_t kMaxReason = kMaxControlPayload - 2;
  if (reason.size() > kMaxReason) {
    // Back up over continuation bytes so the cut lands on a code-point start.
    size_t n = kMaxReason;
    while (n > 0 && (static_cast<uint8_t>(reason[n]) & 0xC0) == 0x80) --n;
    reason = reason.substr(0, n);
  }
  std::string out;
  out.reserve(2 + reason.size());
  out.push_back(static_cast<char>(code >> 8));
  out.push_back(static_cast<char>(code & 0xFF));
  out.append(reason);
  return out;
}

std::string pack(std::string_view data, uint8_t opcode, uint8_t flags, Deflater* deflater) {
  const bool fin = (flags & kFlagFin) != 0;
  // Control frames are never compressed (RFC 7692 §6.1).
  if ((flags & kFlagCompress) && deflater && !is_control_opcode(opcode)) {
    std::string compressed;
    const auto* p = reinterpret_cast<const uint8_t*>(data.data());
    // On a zlib failure the message goes out uncompressed, which is always valid.
    if (deflater->compress(p, data.size(), compressed)) {
      uint8_t header[kMaxFrameHeaderSize];
      const size_t n = write_frame_header(header, opcode, fin, true, compressed.size());
      compressed.insert(0, reinterpret_cast<const char*>(header), n);
      return compressed;
    }
  }
  std::string out(frame_header_size(data.size(), false), '\0');
  write_frame_header(reinterpret_cast<uint8_t*>(out.data()), opcode, fin, false, data.size());
  out.append(data);
  return out;
}

std::string pack_close(uint16_t code, std::string_view reason) {
  return pack(close_payload(code, reason), static_cast<uint8_t>(Opcode::Close), kFlagFin);
}

std::optional<UnpackedFrame> unpack(std::string_view bytes) {
  const auto* p = reinterpret_cast<const uint8_t*>(bytes.data());
  Header h;
  if (!decode_header(p, bytes.size(), h) || !well_formed(h)) return std::nullopt;
  if (h.payload_len > bytes.size() - h.size) return std::nullopt;

  UnpackedFrame f;
  f.opcode = h.first & 0x0F;
  f.flags = static_cast<uint8_t>(((h.first & kFin) ? kFlagFin : 0) |
                                 ((h.first & kRsv1) ? kFlagCompress : 0));
  f.data.assign(bytes.substr(h.size, h.payload_len));
  if (h.masked) apply_mask(reinterpret_cast<uint8_t*>(f.data.data()), f.data.size(), h.mask);
  f.frame_size = h.size + h.payload_len;
  if (f.opcode == static_cast<uint8_t>(Opcode::Close) && !decode_close(f)) return std::nullopt;
  return f;
}

}  // namespace wsd::core
