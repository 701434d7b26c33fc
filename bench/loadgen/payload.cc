#include "bench/loadgen/payload.h"

#include <cstdio>
#include <cstring>

namespace wsd::loadgen {

namespace {

constexpr char kHex[] = "0123456789abcdef";
constexpr char kFiller[] = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";

void put_hex(uint8_t* out, uint64_t v, int digits) {
  for (int i = digits - 1; i >= 0; --i, v >>= 4) out[i] = static_cast<uint8_t>(kHex[v & 0xF]);
}

bool get_hex(const uint8_t* in, int digits, uint64_t& v) {
  v = 0;
  for (int i = 0; i < digits; ++i) {
    const uint8_t c = in[i];
    uint64_t d;
    if (c >= '0' && c <= '9') d = c - '0';
    else if (c >= 'a' && c <= 'f') d = c - 'a' + 10;
    else return false;
    v = v << 4 | d;
  }
  return true;
}

bool get_decimal(std::string_view& s, uint64_t& v) {
  size_t i = 0;
  v = 0;
  while (i < s.size() && i < 20 && s[i] >= '0' && s[i] <= '9') v = v * 10 + (s[i++] - '0');
  if (i == 0) return false;
  s.remove_prefix(i);
  return true;
}

}  // namespace

PayloadTemplate::PayloadTemplate(size_t size) : bytes_(size) {
  for (size_t i = 0; i < size; ++i) bytes_[i] = static_cast<uint8_t>(kFiller[i % (sizeof kFiller - 1)]);
}

void write_echo_stamp(uint8_t* out, uint32_t seq, uint64_t send_ns) {
  put_hex(out, seq, 8);
  out[8] = ' ';
  put_hex(out + 9, send_ns & kEchoTimeMask, 14);
  out[23] = ' ';
}

bool read_echo_stamp(const uint8_t* p, size_t len, uint32_t& seq, uint64_t& send_ns) {
  uint64_t s;
  if (len < kEchoStampSize || p[8] != ' ' || p[23] != ' ') return false;
  if (!get_hex(p, 8, s) || !get_hex(p + 9, 14, send_ns)) return false;
  seq = static_cast<uint32_t>(s);
  return true;
}

size_t write_broadcast(char* out, size_t size, uint64_t seq, uint64_t send_ns) {
  const int n = std::snprintf(out, kBroadcastMaxHeader, "pub %llu %llu",
                              static_cast<unsigned long long>(seq),
                              static_cast<unsigned long long>(send_ns));
  size_t len = static_cast<size_t>(n);
  if (size > len) {
    out[len++] = ' ';
    for (size_t i = 0; len < size; ++i) out[len++] = kFiller[i % (sizeof kFiller - 1)];
  }
  return len;
}

bool read_broadcast(std::string_view msg, uint64_t& seq, uint64_t& send_ns) {
  if (!msg.starts_with("pub ")) return false;
  msg.remove_prefix(4);
  if (!get_decimal(msg, seq) || msg.empty() || msg[0] != ' ') return false;
  msg.remove_prefix(1);
  return get_decimal(msg, send_ns) && (msg.empty() || msg[0] == ' ');
}

}  // namespace wsd::loadgen
