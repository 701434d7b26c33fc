// SHA-1 (FIPS 180-4), for the handshake's Sec-WebSocket-Accept only: RFC
// 6455 fixes the hash, and this is not a security use. Our own small
// implementation instead of OpenSSL's: OpenSSL 3 loads its provider machinery
// on the first digest, about 2 MB of resident memory in every process that
// answers a handshake, for 60 bytes hashed per connection.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>

namespace wsd::core {

using Sha1Digest = std::array<uint8_t, 20>;

Sha1Digest sha1(std::string_view a, std::string_view b = {});

}  // namespace wsd::core
