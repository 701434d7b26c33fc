#include "bench/loadgen/client_handshake.h"

#include <cstring>

#include "core/handshake.h"

namespace wsd::loadgen {

namespace {

constexpr char kBase64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
constexpr size_t kMaxHead = 16 * 1024;

// base64 of 16 bytes: 22 characters and "==".
std::string base64_16(const uint8_t in[16]) {
  std::string out;
  for (int i = 0; i < 15; i += 3) {
    const uint32_t v = uint32_t{in[i]} << 16 | uint32_t{in[i + 1]} << 8 | in[i + 2];
    for (int s = 18; s >= 0; s -= 6) out += kBase64[(v >> s) & 63];
  }
  out += kBase64[in[15] >> 2];
  out += kBase64[(in[15] & 3) << 4];
  out += "==";
  return out;
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x += 32;
    if (y >= 'A' && y <= 'Z') y += 32;
    if (x != y) return false;
  }
  return true;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

}  // namespace

void make_upgrade_request(std::string_view host_header, std::string_view path,
                          const uint8_t key_bytes[16], std::string& request,
                          char accept[kAcceptKeySize]) {
  const std::string key = base64_16(key_bytes);
  request.clear();
  request.append("GET ").append(path).append(" HTTP/1.1\r\nHost: ").append(host_header);
  request.append("\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ");
  request.append(key).append("\r\nSec-WebSocket-Version: 13\r\n\r\n");
  const std::string expected = core::compute_accept_key(key);
  std::memcpy(accept, expected.data(), kAcceptKeySize);
}

std::string_view find_header(std::string_view head, std::string_view name) {
  size_t pos = head.find("\r\n");
  while (pos != std::string_view::npos && pos + 2 < head.size()) {
    const size_t start = pos + 2;
    const size_t end = head.find("\r\n", start);
    const std::string_view line = head.substr(start, end == std::string_view::npos ? head.npos : end - start);
    const size_t colon = line.find(':');
    if (colon != std::string_view::npos && iequals(trim(line.substr(0, colon)), name)) {
      return trim(line.substr(colon + 1));
    }
    pos = end;
  }
  return {};
}

HandshakeStatus check_upgrade_response(std::string_view buf, std::string_view accept,
                                       size_t& head_len) {
  const size_t end = buf.find("\r\n\r\n");
  if (end == std::string_view::npos) {
    return buf.size() > kMaxHead ? HandshakeStatus::Refused : HandshakeStatus::Incomplete;
  }
  head_len = end + 4;
  const std::string_view head = buf.substr(0, end + 2);
  if (!head.starts_with("HTTP/1.1 101")) return HandshakeStatus::Refused;
  return find_header(head, "Sec-WebSocket-Accept") == accept ? HandshakeStatus::Ok
                                                             : HandshakeStatus::Refused;
}

}  // namespace wsd::loadgen
