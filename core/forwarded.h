// The real client's address behind HTTP proxies: X-Forwarded-For and
// X-Real-IP, believed only when they come from a proxy we were told to trust.
// Anyone can send these headers; only the hops appended by trusted proxies
// are facts, so the list is read from the right and reading stops at the
// first address that is not a trusted proxy.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/http_request.h"

namespace wsd::core {

// An IP address in network byte order.
struct IpAddress {
  int family = 0;          // AF_INET (first 4 bytes used) or AF_INET6
  uint8_t bytes[16] = {};

  // "192.0.2.1", "2001:db8::1" (inet_ntop's form); empty for no family.
  std::string text() const;
};

// A bare IPv4 or IPv6 literal. Refused: brackets, ports, zone ids ("%eth0"),
// surrounding spaces, and heading zeroes in IPv4 ("010.0.0.1" reads as octal
// to some software and as decimal to other).
std::optional<IpAddress> parse_ip(std::string_view text);

// The proxies whose forwarding headers we believe: single addresses and CIDR
// ranges of either family. An IPv4-mapped IPv6 address (::ffff:127.0.0.1, as
// a dual-stack socket reports IPv4 peers) matches the IPv4 rules and the
// other way round.
class TrustedProxies {
 public:
  // Adds "10.0.0.0/8", "127.0.0.1", "::1" or "fd00::/8". On a bad address, a
  // bad prefix length, or bits set past the prefix ("10.0.0.1/8", most likely
  // a typo for a different range), returns false and says why in `error`.
  bool add(std::string_view cidr, std::string& error);

  bool contains(const IpAddress& address) const;
  // `bytes`: 4 bytes for AF_INET, 16 for AF_INET6; other families: false.
  bool contains(int family, const uint8_t* bytes) const;
  bool empty() const { return ranges_.empty(); }

 private:
  // Every range is kept as IPv6; IPv4 as ::ffff:a.b.c.d with 96 + its prefix.
  struct Range {
    uint8_t bytes[16];
    unsigned prefix;
  };
  std::vector<Range> ranges_;
};

// The client's address as the trusted proxies in front of us report it, or
// nullopt to use `peer` itself (the socket's peer, or the PROXY protocol's
// source when that is in use).
//
// - `peer` not trusted: both headers are ignored, whatever they say.
// - X-Forwarded-For present (repetitions joined in order): read from the
//   right, skipping trusted proxies; the first untrusted address is the
//   client. When every entry is trusted, the leftmost one is: each was
//   written by the trusted hop to its right.
// - An entry that is not a bare IP literal (empty, "unknown", a port,
//   brackets, garbage) reached before the client stops the walk with
//   nullopt: a trusted proxy would have written a valid address, so that
//   entry and everything left of it are unverifiable, and taking the
//   trusted hop to its right would name a proxy as the client.
// - No X-Forwarded-For: X-Real-IP, if it holds exactly one valid address.
// The result is always a valid address in inet_ntop's form.
std::optional<std::string> forwarded_client(const IpAddress& peer, const HttpRequest& request,
                                            const TrustedProxies& trusted);

}  // namespace wsd::core
