// The client half of the opening handshake (RFC 6455 §4.1): the upgrade
// request, and the check of the server's answer.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace wsd::loadgen {

constexpr size_t kAcceptKeySize = 28;  // base64 of a SHA-1

// Writes the upgrade request for `key_bytes` (16 random bytes) to `request`
// and the Sec-WebSocket-Accept the server must answer to `accept`.
void make_upgrade_request(std::string_view host_header, std::string_view path,
                          const uint8_t key_bytes[16], std::string& request,
                          char accept[kAcceptKeySize]);

enum class HandshakeStatus : uint8_t { Incomplete, Ok, Refused };

// Checks the response head at the start of `buf`: status 101 and the right
// Sec-WebSocket-Accept. On Ok, `head_len` is its length (frames follow).
HandshakeStatus check_upgrade_response(std::string_view buf,
                                       std::string_view accept, size_t& head_len);

// Case-insensitive search of a header in an HTTP head; returns its trimmed
// value or an empty view. Shared with the HTTP publisher.
std::string_view find_header(std::string_view head, std::string_view name);

}  // namespace wsd::loadgen
