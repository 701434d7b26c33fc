// A one-way byte ring in shared memory (a memfd mapped by two processes, or
// two threads): where a channel puts large payloads so they cross between
// processes with one memcpy instead of a write into a socket and a read out
// of it (two kernel copies, each with its socket-buffer bookkeeping).
//
// One writer, one reader, first in first out. The writer hands out regions
// in order and tells the reader where each one is by a small message on the
// channel's socket; the reader, once done with a region, publishes how far it
// has consumed. The writer never overwrites bytes below that mark, and a
// region that does not fit is refused (the caller sends the payload through
// the socket instead), so nothing ever waits on the ring.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>

namespace wsd::ipc {

class SharedRing {
 public:
  // The writer's side: a new memfd of `capacity` data bytes (a power of two).
  // nullptr when the system refuses (no memfd, no memory): the caller goes on
  // without a ring.
  static std::unique_ptr<SharedRing> create(size_t capacity);
  // The reader's side: maps the ring behind `fd` (a descriptor the writer
  // sent) and closes `fd`. nullptr if it is not a ring of ours.
  static std::unique_ptr<SharedRing> attach(int fd);
  ~SharedRing();
  SharedRing(const SharedRing&) = delete;
  SharedRing& operator=(const SharedRing&) = delete;

  // The writer keeps the memfd until it has been sent to the reader.
  int fd() const { return fd_; }
  void close_fd();
  size_t capacity() const { return capacity_; }

  // Writer: `n` contiguous bytes, or nullptr when the unread bytes leave no
  // room. `pos` is the region's position for the reader. Regions are handed
  // out in order; one that would cross the end starts again at the front.
  char* reserve(size_t n, uint64_t& pos);

  // The region at `pos`, or nullptr when it lies outside the ring (a broken
  // peer). The reader release()s up to its end once the bytes are used; the
  // writer reads a region back when its message moves to another channel.
  const char* region(uint64_t pos, size_t n) const;
  void release(uint64_t end) { control_->consumed.store(end, std::memory_order_release); }

 private:
  // The only shared state besides the data: the reader's progress, on a
  // cache line of its own.
  struct alignas(64) Control {
    uint64_t magic;
    uint64_t capacity;
    alignas(64) std::atomic<uint64_t> consumed;
  };
  static_assert(sizeof(Control) <= 4096);
  static constexpr size_t kControlSize = 4096;  // one page, so the data is page-aligned

  SharedRing(int fd, void* map, size_t capacity);

  int fd_;
  void* map_;
  size_t capacity_;
  Control* control_;
  char* data_;
  uint64_t head_ = 0;  // writer only: where the next region may start
};

}  // namespace wsd::ipc
