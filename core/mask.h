// Client-to-server masking (RFC 6455 §5.3), applied a machine word at a time.
#pragma once

#include <cstddef>
#include <cstdint>

namespace wsd::core {

// XORs `len` bytes at `data` in place with the 4-byte masking `key`, as if the
// first byte were at offset `offset` of the frame payload (masking is its own
// inverse, so this both masks and unmasks). Call it again with offset += len
// for the next chunk of the same frame.
void apply_mask(uint8_t* data, size_t len, const uint8_t key[4], uint64_t offset = 0);

// The same, reading `len` bytes at `src` and writing the result to `dst` (the
// ranges must not overlap): unmasking and copying in one pass over the bytes.
void apply_mask_copy(uint8_t* dst, const uint8_t* src, size_t len, const uint8_t key[4], uint64_t offset = 0);

}  // namespace wsd::core
