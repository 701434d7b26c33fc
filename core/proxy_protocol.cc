#include "core/proxy_protocol.h"

#include <arpa/inet.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstring>

namespace wsd::core {

namespace {

constexpr std::string_view kV1Signature = "PROXY ";
constexpr uint8_t kV2Signature[12] = {0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D,
                                      0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A};
constexpr size_t kV2FixedBytes = 16;  // signature, version/command, family, length

// Byte 14 of a v2 header: address family (high nibble), transport (low).
constexpr uint8_t kFamilyUnspec = 0x0;
constexpr uint8_t kFamilyInet = 0x1;
constexpr uint8_t kFamilyInet6 = 0x2;
constexpr uint8_t kFamilyUnix = 0x3;
constexpr uint8_t kTransportUnspec = 0x0;
constexpr uint8_t kTransportStream = 0x1;
constexpr uint8_t kTransportDgram = 0x2;

constexpr std::string_view kNotProxy = "not a PROXY protocol header";

// The address block a v2 family announces; the length field must cover it.
size_t v2_block_size(uint8_t family) {
  switch (family) {
    case kFamilyInet: return 2 * 4 + 2 * 2;
    case kFamilyInet6: return 2 * 16 + 2 * 2;
    case kFamilyUnix: return 2 * 108;
    default: return 0;
  }
}

uint16_t load_be16(const uint8_t* p) { return static_cast<uint16_t>(p[0] << 8 | p[1]); }

std::string format_address(int family, const uint8_t* addr) {
  char text[INET6_ADDRSTRLEN];
  if (family != AF_INET && family != AF_INET6) return {};
  if (inet_ntop(family, addr, text, sizeof text) == nullptr) return {};
  return text;
}

// An address field of a v1 line. The field goes to inet_pton as a C string,
// so a NUL inside it would cut it short and let trailing junk through. v1
// forbids heading zeroes in IPv4 (octal confusion); requiring the text to be
// exactly what inet_ntop prints back rules them out whatever libc accepts.
bool parse_v1_address(int family, std::string_view field, uint8_t* out) {
  char text[INET6_ADDRSTRLEN];
  if (field.empty() || field.size() >= sizeof text) return false;
  if (field.find('\0') != std::string_view::npos) return false;
  std::memcpy(text, field.data(), field.size());
  text[field.size()] = '\0';
  if (inet_pton(family, text, out) != 1) return false;
  return family != AF_INET || format_address(AF_INET, out) == field;
}

// A v1 port: decimal 0..65535, no sign, no heading zeroes.
bool parse_v1_port(std::string_view field, uint16_t& out) {
  if (field.empty() || field.size() > 5) return false;
  if (field.size() > 1 && field[0] == '0') return false;
  uint32_t value = 0;
  for (char c : field) {
    if (c < '0' || c > '9') return false;
    value = value * 10 + static_cast<uint32_t>(c - '0');
  }
  if (value > 65535) return false;
  out = static_cast<uint16_t>(value);
  return true;
}

// Splits `line` into exactly `n` non-empty fields separated by single
// spaces; doubled, leading or trailing spaces make an empty field.
bool split_fields(std::string_view line, std::string_view* fields, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    const size_t space = line.find(' ');
    const bool last = i + 1 == n;
    if (last != (space == std::string_view::npos)) return false;
    fields[i] = line.substr(0, space);
    if (fields[i].empty()) return false;
    if (!last) line.remove_prefix(space + 1);
  }
  return true;
}

}  // namespace

// ---------------------------------------------------------------------------
// ProxyAddress

std::string ProxyAddress::src_text() const { return format_address(family, src_addr); }
std::string ProxyAddress::dst_text() const { return format_address(family, dst_addr); }

// ---------------------------------------------------------------------------
// ProxyHeaderParser
//
// Every byte is looked at once, in order, and every check runs on the byte
// that decides it, so the outcome and the error text never depend on how
// the bytes were split.

ProxyHeaderParser::ProxyHeaderParser(size_t max_v2_bytes) : max_v2_bytes_(max_v2_bytes) {}

ProxyHeaderParser::State ProxyHeaderParser::state() const {
  switch (stage_) {
    case Stage::Done: return State::Done;
    case Stage::Error: return State::Error;
    default: return State::Incomplete;
  }
}

size_t ProxyHeaderParser::feed(const uint8_t* data, size_t len) {
  size_t used = 0;
  while (used < len && state() == State::Incomplete) {
    if (stage_ == Stage::V2Skip) {
      used += skip(len - used);
    } else {
      on_byte(data[used++]);
    }
  }
  return used;
}

void ProxyHeaderParser::on_byte(uint8_t byte) {
  switch (stage_) {
    case Stage::Signature: on_signature_byte(byte); break;
    case Stage::V1Line: on_v1_byte(byte); break;
    case Stage::V2Header: on_v2_header_byte(byte); break;
    case Stage::V2Address: on_v2_address_byte(byte); break;
    case Stage::V2Skip:
    case Stage::Done:
    case Stage::Error: break;  // feed() never gets here
  }
}

bool ProxyHeaderParser::fail(std::string_view why) {
  stage_ = Stage::Error;
  error_ = why;
  return false;
}

// The first byte tells the versions apart ('P' starts "PROXY", CR the v2
// signature); every later signature byte either matches or ends it all, so
// a client speaking HTTP straight away is refused on its first byte.
void ProxyHeaderParser::on_signature_byte(uint8_t byte) {
  if (held_ == 0) {
    if (byte == kV1Signature[0]) {
      version_ = 1;
    } else if (byte == kV2Signature[0]) {
      version_ = 2;
    } else {
      fail(kNotProxy);
      return;
    }
  }
  const bool v1 = version_ == 1;
  const uint8_t expected = v1 ? static_cast<uint8_t>(kV1Signature[held_]) : kV2Signature[held_];
  if (byte != expected) {
    fail(kNotProxy);
    return;
  }
  buf_[held_++] = byte;
  if (held_ == (v1 ? kV1Signature.size() : sizeof kV2Signature)) {
    stage_ = v1 ? Stage::V1Line : Stage::V2Header;
  }
}

// Collects the line up to CRLF; the fields are parsed only once it is whole
// (spec §2.1). A lone CR or LF never ends it.
void ProxyHeaderParser::on_v1_byte(uint8_t byte) {
  const bool after_cr = buf_[held_ - 1] == '\r';  // held_ >= 6: "PROXY " is in buf_
  if (byte == '\n') {
    if (!after_cr) {
      fail("v1: LF without CR");
      return;
    }
    const std::string_view line(reinterpret_cast<const char*>(buf_), held_ - 1);
    if (parse_v1_line(line)) stage_ = Stage::Done;
    return;
  }
  if (after_cr) {
    fail("v1: CR not followed by LF");
    return;
  }
  // This byte and the LF still to come must fit in the line's 107 bytes.
  if (held_ + 2 > kProxyV1MaxLine) {
    fail("v1: line longer than 107 bytes");
    return;
  }
  buf_[held_++] = byte;
}

// `line` is "PROXY ...", without its CRLF.
bool ProxyHeaderParser::parse_v1_line(std::string_view line) {
  line.remove_prefix(kV1Signature.size());
  // UNKNOWN: the sender may add anything up to the CRLF and we must ignore it.
  if (line == "UNKNOWN" || line.starts_with("UNKNOWN ")) {
    address_.local = true;
    return true;
  }
  const std::string_view protocol = line.substr(0, line.find(' '));
  if (protocol != "TCP4" && protocol != "TCP6") return fail("v1: unknown protocol");
  std::string_view f[5];  // protocol, source, destination, source port, destination port
  if (!split_fields(line, f, 5)) return fail("v1: malformed line");
  const int family = protocol == "TCP4" ? AF_INET : AF_INET6;
  if (!parse_v1_address(family, f[1], address_.src_addr)) return fail("v1: bad source address");
  if (!parse_v1_address(family, f[2], address_.dst_addr)) {
    return fail("v1: bad destination address");
  }
  if (!parse_v1_port(f[3], address_.src_port)) return fail("v1: bad source port");
  if (!parse_v1_port(f[4], address_.dst_port)) return fail("v1: bad destination port");
  address_.family = family;
  return true;
}

// Bytes 13 to 16 of a v2 header, each checked as soon as it arrives.
void ProxyHeaderParser::on_v2_header_byte(uint8_t byte) {
  buf_[held_++] = byte;
  switch (held_) {
    case 13:  // version (high nibble) and command (low)
      if (byte >> 4 != 2) {
        fail("v2: unsupported version");
      } else if ((byte & 0x0F) > 1) {
        fail("v2: unknown command");
      }
      v2_proxy_ = (byte & 0x0F) == 1;
      break;
    case 14:
      v2_family_ = byte >> 4;
      v2_transport_ = byte & 0x0F;
      // LOCAL ignores the family altogether (spec §2.2), so only PROXY checks it.
      if (v2_proxy_ && (v2_family_ > kFamilyUnix || v2_transport_ > kTransportDgram)) {
        fail("v2: unknown address family or transport");
      }
      break;
    case kV2FixedBytes:
      if (check_v2_length()) after_v2_fixed();
      break;
    default:
      break;
  }
}

// Decides, from the now complete fixed part, how many address bytes to
// decode and whether the length is acceptable.
bool ProxyHeaderParser::check_v2_length() {
  remaining_ = load_be16(buf_ + 14);
  if (kV2FixedBytes + remaining_ > max_v2_bytes_) return fail("v2: header longer than the limit");
  if (!v2_proxy_) {
    address_.local = true;  // LOCAL: a health check from the proxy itself
    return true;
  }
  const bool unspec = v2_family_ == kFamilyUnspec || v2_transport_ == kTransportUnspec;
  if (!unspec && remaining_ < v2_block_size(v2_family_)) {
    return fail("v2: length shorter than the address block");
  }
  // TCP over IPv4 or IPv6 is all a WebSocket client can be; for UNSPEC,
  // AF_UNIX and datagrams the spec lets us fall back to the socket's peer.
  const bool usable = (v2_family_ == kFamilyInet || v2_family_ == kFamilyInet6) &&
                      v2_transport_ == kTransportStream;
  address_.local = !usable;
  address_bytes_ = usable ? v2_block_size(v2_family_) : 0;
  return true;
}

void ProxyHeaderParser::after_v2_fixed() {
  if (address_bytes_ > 0) {
    stage_ = Stage::V2Address;
  } else {
    stage_ = remaining_ > 0 ? Stage::V2Skip : Stage::Done;
  }
}

void ProxyHeaderParser::on_v2_address_byte(uint8_t byte) {
  buf_[held_++] = byte;
  --remaining_;
  if (held_ < kV2FixedBytes + address_bytes_) return;
  decode_v2_address();
  stage_ = remaining_ > 0 ? Stage::V2Skip : Stage::Done;
}

void ProxyHeaderParser::decode_v2_address() {
  const uint8_t* p = buf_ + kV2FixedBytes;
  const size_t n = v2_family_ == kFamilyInet ? 4 : 16;
  address_.family = n == 4 ? AF_INET : AF_INET6;
  std::memcpy(address_.src_addr, p, n);
  std::memcpy(address_.dst_addr, p + n, n);
  address_.src_port = load_be16(p + 2 * n);
  address_.dst_port = load_be16(p + 2 * n + 2);
}

// TLVs (and the address bytes of families we don't decode) are passed over
// unread: nothing in them changes who the client is, and the spec lets a
// receiver ignore them. Neither their framing nor a CRC32C TLV is checked.
size_t ProxyHeaderParser::skip(size_t available) {
  const size_t n = std::min(available, remaining_);
  remaining_ -= n;
  if (remaining_ == 0) stage_ = Stage::Done;
  return n;
}

}  // namespace wsd::core
