// What the generator puts in messages, and how it checks what comes back.
//
// Echo payload: a 24-byte printable stamp "SSSSSSSS TTTTTTTTTTTTTT " (the
// sequence number, 8 hex digits mod 2^32; the send time in ns mod 2^56, 14
// hex digits; each followed by a space), then filler, ASCII and thus valid UTF-8. The
// filler is the same for every message, so a whole echo is checked with one
// memcmp.
//
// Broadcast payload: "pub <seq> <send_time_ns>" in decimal, padded with a
// space and filler up to the requested size.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

namespace wsd::loadgen {

constexpr size_t kEchoStampSize = 24;
// The stamp keeps the low 56 bits of the send time (2.3 years of uptime);
// latencies are computed modulo 2^56, so the wrap does no harm.
constexpr uint64_t kEchoTimeMask = (uint64_t{1} << 56) - 1;

// The filler: `size` bytes; the stamp is written over the first 24.
class PayloadTemplate {
 public:
  explicit PayloadTemplate(size_t size);
  const uint8_t* data() const { return bytes_.data(); }
  size_t size() const { return bytes_.size(); }

 private:
  std::vector<uint8_t> bytes_;
};

void write_echo_stamp(uint8_t* out, uint32_t seq, uint64_t send_ns);
// False unless `p` starts with a well-formed stamp.
bool read_echo_stamp(const uint8_t* p, size_t len, uint32_t& seq, uint64_t& send_ns);

// Writes the broadcast message into `out` (room for max(size, 64) bytes);
// returns its length.
size_t write_broadcast(char* out, size_t size, uint64_t seq, uint64_t send_ns);
bool read_broadcast(std::string_view msg, uint64_t& seq, uint64_t& send_ns);
constexpr size_t kBroadcastMaxHeader = 48;  // "pub " + 2 x 20 digits + space

}  // namespace wsd::loadgen
