// Appending and reading the fields of a message payload: little-endian
// integers and length-prefixed byte strings. Same-machine IPC, so native
// (little-endian x86/ARM) layout would do, but fixed widths keep it explicit.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace wsd::ipc {

class PayloadWriter {
 public:
  explicit PayloadWriter(std::string& out) : out_(out) {}
  void u8(uint8_t v) { out_.push_back(static_cast<char>(v)); }
  void u16(uint16_t v) { raw(&v, 2); }
  void u32(uint32_t v) { raw(&v, 4); }
  void u64(uint64_t v) { raw(&v, 8); }
  void str(std::string_view s) {
    u32(static_cast<uint32_t>(s.size()));
    out_.append(s.data(), s.size());
  }

 private:
  void raw(const void* p, size_t n) { out_.append(static_cast<const char*>(p), n); }
  std::string& out_;
};

// Reads fields in the order they were written. After a read past the end,
// ok() is false and every further read yields zero/empty values.
class PayloadReader {
 public:
  PayloadReader(const char* data, size_t len) : p_(data), end_(data + len) {}
  uint8_t u8() { uint8_t v = 0; raw(&v, 1); return v; }
  uint16_t u16() { uint16_t v = 0; raw(&v, 2); return v; }
  uint32_t u32() { uint32_t v = 0; raw(&v, 4); return v; }
  uint64_t u64() { uint64_t v = 0; raw(&v, 8); return v; }
  std::string_view str() {
    uint32_t n = u32();
    if (!ok_ || static_cast<size_t>(end_ - p_) < n) { ok_ = false; return {}; }
    std::string_view s(p_, n);
    p_ += n;
    return s;
  }
  bool ok() const { return ok_; }

 private:
  void raw(void* v, size_t n) {
    if (!ok_ || static_cast<size_t>(end_ - p_) < n) { ok_ = false; return; }
    std::memcpy(v, p_, n);
    p_ += n;
  }
  const char* p_;
  const char* end_;
  bool ok_ = true;
};

}  // namespace wsd::ipc
