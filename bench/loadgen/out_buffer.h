// A connection's output: bytes queued during a loop iteration, written in one
// send() at its end. Memory is kept between messages (no allocation per
// message once it has grown to the connection's working size).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

namespace wsd::loadgen {

class OutBuffer {
 public:
  // Room for `n` more bytes at the end; the caller fills all of them, or
  // gives the unused tail back with unappend().
  uint8_t* append(size_t n);
  void unappend(size_t n) { tail_ -= n; }
  const uint8_t* data() const { return buf_.get() + head_; }
  size_t size() const { return tail_ - head_; }
  bool empty() const { return head_ == tail_; }
  // Drops `n` bytes from the front (they were sent).
  void consume(size_t n);
  // Frees the memory; only when empty.
  void release();

 private:
  std::unique_ptr<uint8_t[]> buf_;
  size_t cap_ = 0;
  size_t head_ = 0;
  size_t tail_ = 0;
};

}  // namespace wsd::loadgen
