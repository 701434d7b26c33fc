#include "core/forwarded.h"

#include <arpa/inet.h>
#include <sys/socket.h>

#include <cstring>

namespace wsd::core {

namespace {

// ::ffff:0:0/96, where IPv4 lives inside IPv6.
constexpr uint8_t kMappedPrefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF};
constexpr unsigned kMappedBits = 96;

std::string_view trim_ows(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Both families in one form, so that one comparison serves every pairing
// of rule and address. False for a family that is neither.
bool to_ipv6(int family, const uint8_t* bytes, uint8_t* out) {
  if (family == AF_INET6) {
    std::memcpy(out, bytes, 16);
    return true;
  }
  if (family != AF_INET) return false;
  std::memcpy(out, kMappedPrefix, 12);
  std::memcpy(out + 12, bytes, 4);
  return true;
}

// Whether the first `bits` bits of a and b are equal.
bool same_prefix(const uint8_t* a, const uint8_t* b, unsigned bits) {
  const unsigned whole = bits / 8;
  if (std::memcmp(a, b, whole) != 0) return false;
  const unsigned rest = bits % 8;
  if (rest == 0) return true;
  const uint8_t mask = static_cast<uint8_t>(0xFF << (8 - rest));
  return ((a[whole] ^ b[whole]) & mask) == 0;
}

// Whether every bit of the 16-byte `a` past the first `bits` is zero.
bool host_bits_zero(const uint8_t* a, unsigned bits) {
  for (unsigned bit = bits; bit < 128; ++bit) {
    if (a[bit / 8] & (0x80u >> (bit % 8))) return false;
  }
  return true;
}

// A prefix length: decimal, no sign, no heading zeroes, at most `max`.
bool parse_prefix(std::string_view text, unsigned max, unsigned& out) {
  if (text.empty() || text.size() > 3 || (text.size() > 1 && text[0] == '0')) return false;
  unsigned value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
    value = value * 10 + static_cast<unsigned>(c - '0');
  }
  if (value > max) return false;
  out = value;
  return true;
}

// X-Forwarded-For from the right (see forwarded_client in the header).
std::optional<std::string> client_from_list(std::string_view list,
                                            const TrustedProxies& trusted) {
  for (;;) {
    const size_t comma = list.rfind(',');
    const std::string_view entry =
        trim_ows(comma == std::string_view::npos ? list : list.substr(comma + 1));
    const std::optional<IpAddress> ip = parse_ip(entry);
    if (!ip) return std::nullopt;
    if (!trusted.contains(*ip) || comma == std::string_view::npos) return ip->text();
    list = list.substr(0, comma);
  }
}

}  // namespace

// ---------------------------------------------------------------------------
// IpAddress

std::string IpAddress::text() const {
  char out[INET6_ADDRSTRLEN];
  if (family != AF_INET && family != AF_INET6) return {};
  if (inet_ntop(family, bytes, out, sizeof out) == nullptr) return {};
  return out;
}

// inet_pton takes a C string, so a NUL inside `text` would cut it short and
// let junk through; it is refused first. IPv4 must read back exactly as
// inet_ntop prints it, which rules out heading zeroes whatever libc accepts.
std::optional<IpAddress> parse_ip(std::string_view text) {
  char buf[INET6_ADDRSTRLEN];
  if (text.empty() || text.size() >= sizeof buf) return std::nullopt;
  if (text.find('\0') != std::string_view::npos) return std::nullopt;
  std::memcpy(buf, text.data(), text.size());
  buf[text.size()] = '\0';
  IpAddress ip;
  ip.family = text.find(':') == std::string_view::npos ? AF_INET : AF_INET6;
  if (inet_pton(ip.family, buf, ip.bytes) != 1) return std::nullopt;
  if (ip.family == AF_INET && ip.text() != text) return std::nullopt;
  return ip;
}

// ---------------------------------------------------------------------------
// TrustedProxies

bool TrustedProxies::add(std::string_view cidr, std::string& error) {
  const size_t slash = cidr.find('/');
  const std::string_view addr_text = cidr.substr(0, slash);
  const std::optional<IpAddress> ip = parse_ip(addr_text);
  if (!ip) {
    error = "trusted proxy \"" + std::string(cidr) + "\": not an IPv4 or IPv6 address";
    return false;
  }
  const unsigned max = ip->family == AF_INET ? 32 : 128;
  unsigned prefix = max;
  if (slash != std::string_view::npos && !parse_prefix(cidr.substr(slash + 1), max, prefix)) {
    error = "trusted proxy \"" + std::string(cidr) + "\": prefix length must be 0 to " +
            std::to_string(max);
    return false;
  }
  Range range;
  to_ipv6(ip->family, ip->bytes, range.bytes);
  range.prefix = ip->family == AF_INET ? kMappedBits + prefix : prefix;
  if (!host_bits_zero(range.bytes, range.prefix)) {
    error = "trusted proxy \"" + std::string(cidr) + "\": address bits set past the prefix length";
    return false;
  }
  ranges_.push_back(range);
  return true;
}

bool TrustedProxies::contains(const IpAddress& address) const {
  return contains(address.family, address.bytes);
}

bool TrustedProxies::contains(int family, const uint8_t* bytes) const {
  uint8_t v6[16];
  if (!to_ipv6(family, bytes, v6)) return false;
  for (const Range& r : ranges_) {
    if (same_prefix(v6, r.bytes, r.prefix)) return true;
  }
  return false;
}

// ---------------------------------------------------------------------------

std::optional<std::string> forwarded_client(const IpAddress& peer, const HttpRequest& request,
                                            const TrustedProxies& trusted) {
  if (!trusted.contains(peer)) return std::nullopt;
  const std::string list = request.header_joined("X-Forwarded-For");
  if (!list.empty()) return client_from_list(list, trusted);
  // Repetitions are joined with ", ", which no address contains: two
  // X-Real-IP headers are refused like any other garbage.
  const std::optional<IpAddress> real = parse_ip(request.header_joined("X-Real-IP"));
  if (!real) return std::nullopt;
  return real->text();
}

}  // namespace wsd::core
