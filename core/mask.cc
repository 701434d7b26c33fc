#include "core/mask.h"

#include <bit>
#include <cstring>

namespace wsd::core {

namespace {

// XORs 8 bytes at `src` with `key8` into `dst` (which may be `src`). memcpy
// makes the unaligned load and store well-defined; compilers turn it into
// one plain move each.
inline void xor8(uint8_t* dst, const uint8_t* src, uint64_t key8) {
  uint64_t w;
  std::memcpy(&w, src, 8);
  w ^= key8;
  std::memcpy(dst, &w, 8);
}

// Rotates the key so that its first byte applies to the byte at `offset`;
// every 4-byte step of the buffer then starts with that byte again. The
// rotation is of bytes in memory order, so its direction depends on
// endianness.
uint32_t key_at(const uint8_t key[4], uint64_t offset) {
  uint32_t k32;
  std::memcpy(&k32, key, 4);
  const int shift = static_cast<int>(offset & 3) * 8;
  return std::endian::native == std::endian::little ? std::rotr(k32, shift) : std::rotl(k32, shift);
}

// One loop for both entry points: `dst` == `src` unmasks in place.
inline void mask_into(uint8_t* dst, const uint8_t* src, size_t len, const uint8_t key[4], uint64_t offset) {
  const uint32_t k32 = key_at(key, offset);
  const uint64_t key8 = static_cast<uint64_t>(k32) << 32 | k32;
  uint8_t k[4];
  std::memcpy(k, &k32, 4);

  size_t i = 0;
  // Four independent words per iteration: the loop body has no dependency
  // chain and the compiler can turn it into vector XORs.
  for (; i + 32 <= len; i += 32) {
    xor8(dst + i, src + i, key8);
    xor8(dst + i + 8, src + i + 8, key8);
    xor8(dst + i + 16, src + i + 16, key8);
    xor8(dst + i + 24, src + i + 24, key8);
  }
  for (; i + 8 <= len; i += 8) xor8(dst + i, src + i, key8);
  // i is a multiple of 8 here, so the tail starts again at k[0].
  for (; i < len; ++i) dst[i] = src[i] ^ k[i & 3];
}

}  // namespace

void apply_mask(uint8_t* data, size_t len, const uint8_t key[4], uint64_t offset) {
  mask_into(data, data, len, key, offset);
}

// __restrict: the two ranges do not overlap, so the compiler may load and
// store whole vectors (without it every 8-byte store must stay in order).
void apply_mask_copy(uint8_t* __restrict dst, const uint8_t* __restrict src, size_t len, const uint8_t key[4],
                     uint64_t offset) {
  mask_into(dst, src, len, key, offset);
}

}  // namespace wsd::core
