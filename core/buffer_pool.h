// Byte buffers that connections borrow while they hold bytes (output waiting
// for the socket, a message being reassembled) and give back once drained,
// so that an idle connection owns no buffer and a busy one does not allocate
// per message. The pool is bounded: it keeps buffers up to kKeepCapacity
// each, kMaxPooledBytes and kMaxPooledBuffers in all, and frees the rest. Not
// thread-safe: one pool per event loop.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

namespace wsd::core {

struct Buffer {
  std::vector<uint8_t> bytes;
  size_t head = 0;   // bytes at the front already consumed (output: written to the socket)
  size_t size() const { return bytes.size() - head; }
};

class BufferPool {
 public:
  static constexpr size_t kKeepCapacity = 64 * 1024;
  static constexpr size_t kMaxPooledBytes = 1024 * 1024;
  static constexpr size_t kMaxPooledBuffers = 256;

  // An empty buffer, with capacity when a pooled one was free.
  std::unique_ptr<Buffer> take() {
    if (free_.empty()) return std::make_unique<Buffer>();
    std::unique_ptr<Buffer> b = std::move(free_.back());
    free_.pop_back();
    pooled_bytes_ -= b->bytes.capacity();
    return b;
  }

  void give(std::unique_ptr<Buffer> b) {
    if (!b) return;
    const size_t cap = b->bytes.capacity();
    if (cap > kKeepCapacity || pooled_bytes_ + cap > kMaxPooledBytes || free_.size() >= kMaxPooledBuffers) {
      return;  // freed
    }
    b->bytes.clear();
    b->head = 0;
    pooled_bytes_ += cap;
    free_.push_back(std::move(b));
  }

  size_t pooled_bytes() const { return pooled_bytes_; }
  size_t pooled_buffers() const { return free_.size(); }

 private:
  std::vector<std::unique_ptr<Buffer>> free_;
  size_t pooled_bytes_ = 0;
};

}  // namespace wsd::core
