// UTF-8 validation (RFC 3629) that can be fed a message in pieces and fails
// at the first byte that cannot start or continue a valid sequence.
#pragma once

#include <cstddef>
#include <cstdint>

namespace wsd::core {

class Utf8Validator {
 public:
  // Validates the next piece. Returns false as soon as an invalid sequence is
  // seen (overlong forms, surrogates, code points above U+10FFFF, stray
  // continuation bytes); once false, it stays false until reset().
  bool feed(const uint8_t* data, size_t len);
  // True when everything fed so far is valid and ends on a code-point boundary.
  bool complete() const { return state_ == 0; }
  bool failed() const { return state_ == kFailed; }
  void reset() { state_ = 0; }

 private:
  static constexpr uint8_t kFailed = 0xFF;
  // 0 = at a code-point boundary; other values name what the next byte must
  // be (see utf8.cc). One byte is the whole state: no code point is decoded,
  // only the ranges the next continuation byte may take.
  uint8_t state_ = 0;
};

// Whole-buffer convenience.
bool is_valid_utf8(const uint8_t* data, size_t len);

}  // namespace wsd::core
