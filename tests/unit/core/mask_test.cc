// Tests of core/mask.cc: the word-at-a-time apply_mask must agree with the
// obvious byte loop for every length, offset and alignment.
#include "core/mask.h"

#include <doctest/doctest.h>

#include <random>
#include <vector>

using wsd::core::apply_mask;

namespace {

const uint8_t kKey[4] = {0x37, 0xfa, 0x21, 0x3d};  // RFC 6455 §5.7

void naive_mask(uint8_t* data, size_t len, const uint8_t key[4], uint64_t offset) {
  for (size_t i = 0; i < len; ++i) data[i] ^= key[(offset + i) % 4];
}

std::vector<uint8_t> random_bytes(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<uint8_t> v(n);
  for (uint8_t& b : v) b = static_cast<uint8_t>(rng());
  return v;
}

// Masks `len` bytes starting `align` bytes into a buffer both ways; the
// bytes around the range must stay untouched.
void check_against_naive(size_t len, uint64_t offset, size_t align) {
  const std::vector<uint8_t> original = random_bytes(len + align + 8, static_cast<uint32_t>(len));
  std::vector<uint8_t> fast = original;
  std::vector<uint8_t> slow = original;
  apply_mask(fast.data() + align, len, kKey, offset);
  naive_mask(slow.data() + align, len, kKey, offset);
  REQUIRE(fast == slow);
}

}  // namespace

TEST_CASE("apply_mask: RFC 6455 §5.7 masked \"Hello\"") {
  uint8_t data[] = {'H', 'e', 'l', 'l', 'o'};
  apply_mask(data, sizeof data, kKey);
  const uint8_t expected[] = {0x7f, 0x9f, 0x4d, 0x51, 0x58};
  CHECK(std::vector<uint8_t>(data, data + 5) == std::vector<uint8_t>(expected, expected + 5));
}

TEST_CASE("apply_mask: equals the byte loop for lengths 0..100, offsets 0..3, any alignment") {
  for (size_t len = 0; len <= 100; ++len) {
    for (uint64_t offset = 0; offset < 4; ++offset) {
      for (size_t align = 0; align < 8; ++align) {
        CAPTURE(len);
        CAPTURE(offset);
        CAPTURE(align);
        check_against_naive(len, offset, align);
      }
    }
  }
}

TEST_CASE("apply_mask: large buffers and offsets past 32 bits") {
  for (size_t len : {4096u, 4099u, 65536u, 65539u, (1u << 20) + 5}) {
    CAPTURE(len);
    check_against_naive(len, 0, 0);
    check_against_naive(len, 3, 5);
    check_against_naive(len, (1ull << 32) + 1, 1);
  }
}

TEST_CASE("apply_mask: chunks with a running offset equal one call, and it is an involution") {
  const std::vector<uint8_t> original = random_bytes(1000, 7);
  std::vector<uint8_t> whole = original;
  apply_mask(whole.data(), whole.size(), kKey);
  std::mt19937 rng(11);
  std::vector<uint8_t> chunked = original;
  for (size_t pos = 0; pos < chunked.size();) {
    const size_t n = std::min<size_t>(1 + rng() % 37, chunked.size() - pos);
    apply_mask(chunked.data() + pos, n, kKey, pos);
    pos += n;
  }
  CHECK(chunked == whole);
  apply_mask(whole.data(), whole.size(), kKey);
  CHECK(whole == original);
}

TEST_CASE("apply_mask_copy: equals apply_mask on a copy, leaves the source alone") {
  for (size_t len : {size_t{0}, size_t{1}, size_t{7}, size_t{31}, size_t{33}, size_t{4096}, size_t{65536 + 3}}) {
    for (uint64_t offset = 0; offset < 4; ++offset) {
      CAPTURE(len);
      CAPTURE(offset);
      const std::vector<uint8_t> src = random_bytes(len + 1, static_cast<uint32_t>(len + offset));
      std::vector<uint8_t> expected(src.begin() + 1, src.end());
      apply_mask(expected.data(), len, kKey, offset);
      std::vector<uint8_t> dst(len + 2, 0xEE);
      wsd::core::apply_mask_copy(dst.data() + 1, src.data() + 1, len, kKey, offset);  // odd alignment
      CHECK(std::vector<uint8_t>(dst.begin() + 1, dst.end() - 1) == expected);
      CHECK(dst.front() == 0xEE);
      CHECK(dst.back() == 0xEE);
      CHECK(src == random_bytes(len + 1, static_cast<uint32_t>(len + offset)));
    }
  }
}
