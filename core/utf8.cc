#include "core/utf8.h"

#include <array>
#include <bit>
#include <cstring>

namespace wsd::core {

namespace {

// The validator's states. Each non-boundary state says how many continuation
// bytes are still due and which range the next one must fall in. RFC 3629 §4
// narrows the second byte after four lead bytes; that is what rules out
// overlong forms (E0, F0), surrogates (ED) and code points above U+10FFFF (F4)
// without decoding anything.
enum State : uint8_t {
  kBoundary = 0,
  kTail1,     // 1 more byte, 80-BF
  kTail2,     // 2 more, the next 80-BF
  kTail3,     // 3 more, the next 80-BF
  kAfterE0,   // 2 more, the next A0-BF (below is overlong)
  kAfterED,   // 2 more, the next 80-9F (above is a surrogate)
  kAfterF0,   // 3 more, the next 90-BF (below is overlong)
  kAfterF4,   // 3 more, the next 80-8F (above is > U+10FFFF)
  kStateCount,
  kFail = 0xFF,
};

struct Expect {
  uint8_t lo, hi;  // allowed range of the next byte
  uint8_t next;    // state after it
};

constexpr Expect kExpect[kStateCount] = {
    {0, 0, kFail},                // kBoundary: not used, lead bytes go through kLead
    {0x80, 0xBF, kBoundary},      // kTail1
    {0x80, 0xBF, kTail1},         // kTail2
    {0x80, 0xBF, kTail2},         // kTail3
    {0xA0, 0xBF, kTail1},         // kAfterE0
    {0x80, 0x9F, kTail1},         // kAfterED
    {0x90, 0xBF, kTail2},         // kAfterF0
    {0x80, 0x8F, kTail2},         // kAfterF4
};

// State after a byte seen at a boundary.
constexpr uint8_t lead_state(unsigned b) {
  if (b < 0x80) return kBoundary;
  if (b < 0xC2) return kFail;     // stray continuation, or C0/C1 (always overlong)
  if (b < 0xE0) return kTail1;
  if (b == 0xE0) return kAfterE0;
  if (b == 0xED) return kAfterED;
  if (b < 0xF0) return kTail2;
  if (b == 0xF0) return kAfterF0;
  if (b < 0xF4) return kTail3;
  if (b == 0xF4) return kAfterF4;
  return kFail;                   // F5-FF would encode > U+10FFFF
}

constexpr std::array<uint8_t, 256> make_lead_table() {
  std::array<uint8_t, 256> t{};
  for (unsigned b = 0; b < 256; ++b) t[b] = lead_state(b);
  return t;
}
constexpr std::array<uint8_t, 256> kLead = make_lead_table();

constexpr uint64_t kHighBits = 0x8080808080808080ull;

// Index within an 8-byte word of its first byte with the top bit set, given
// `high` = word & kHighBits (non-zero).
inline size_t first_high_byte(uint64_t high) {
  if constexpr (std::endian::native == std::endian::little) {
    return static_cast<size_t>(std::countr_zero(high)) / 8;
  } else {
    return static_cast<size_t>(std::countl_zero(high)) / 8;
  }
}

// Index of the first non-ASCII byte at or after `i`, or `len`. Checks 16
// bytes per step (text is mostly ASCII and this is the hot loop), and lands
// on the first non-ASCII byte directly instead of rescanning the block.
size_t skip_ascii(const uint8_t* data, size_t i, size_t len) {
  for (; i + 16 <= len; i += 16) {
    uint64_t a, b;
    std::memcpy(&a, data + i, 8);
    std::memcpy(&b, data + i + 8, 8);
    if (((a | b) & kHighBits) == 0) continue;
    if (a & kHighBits) return i + first_high_byte(a & kHighBits);
    return i + 8 + first_high_byte(b & kHighBits);
  }
  for (; i + 8 <= len; i += 8) {
    uint64_t a;
    std::memcpy(&a, data + i, 8);
    if (a & kHighBits) return i + first_high_byte(a & kHighBits);
  }
  while (i < len && data[i] < 0x80) ++i;
  return i;
}

}  // namespace

bool Utf8Validator::feed(const uint8_t* data, size_t len) {
  uint8_t s = state_;
  size_t i = 0;
  while (s != kFail && i < len) {
    if (s == kBoundary) {
      i = skip_ascii(data, i, len);
      if (i == len) break;
      s = kLead[data[i++]];
    } else {
      const Expect& e = kExpect[s];
      const uint8_t b = data[i++];
      s = (b >= e.lo && b <= e.hi) ? e.next : static_cast<uint8_t>(kFail);
    }
  }
  static_assert(kFail == kFailed);
  state_ = s;
  return s != kFail;
}

bool is_valid_utf8(const uint8_t* data, size_t len) {
  Utf8Validator v;
  return v.feed(data, len) && v.complete();
}

}  // namespace wsd::core
