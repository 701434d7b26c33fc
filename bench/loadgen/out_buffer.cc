#include "bench/loadgen/out_buffer.h"

#include <algorithm>
#include <cstring>

namespace wsd::loadgen {

uint8_t* OutBuffer::append(size_t n) {
  if (tail_ + n > cap_) {
    const size_t used = tail_ - head_;
    if (used + n <= cap_) {
      std::memmove(buf_.get(), buf_.get() + head_, used);  // room at the front
    } else {
      const size_t cap = std::max({cap_ * 2, used + n, size_t{256}});
      auto bigger = std::make_unique_for_overwrite<uint8_t[]>(cap);
      if (used) std::memcpy(bigger.get(), buf_.get() + head_, used);
      buf_ = std::move(bigger);
      cap_ = cap;
    }
    head_ = 0;
    tail_ = used;
  }
  uint8_t* p = buf_.get() + tail_;
  tail_ += n;
  return p;
}

void OutBuffer::consume(size_t n) {
  head_ += n;
  if (head_ == tail_) head_ = tail_ = 0;
}

void OutBuffer::release() {
  if (!empty()) return;
  buf_.reset();
  cap_ = head_ = tail_ = 0;
}

}  // namespace wsd::loadgen
