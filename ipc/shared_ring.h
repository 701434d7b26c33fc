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
//
// Loans: a reader that sends bytes of a region straight back (a plugin that
// echoes or forwards what it got) lends the region to the writer instead of
// copying it into its own ring; the writer reads it from its own memory and
// returns the loan. Until then the region is held: the writer's free space
// stops at the oldest loan the reader has not seen returned.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <deque>
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
  // out in order; one that would cross the end starts again at the front,
  // and so does one that finds the ring empty.
  char* reserve(size_t n, uint64_t& pos);
  // Writer: takes back the last region handed out (nothing else since), its
  // payload not sent after all.
  void unreserve(uint64_t pos, size_t n) {
    if (pos + n == head_) head_ = pos;
  }

  // The region at `pos`, or nullptr when it lies outside the ring (a broken
  // peer). The reader release()s up to its end once the bytes are used; the
  // writer reads a region back when its message moves to another channel.
  const char* region(uint64_t pos, size_t n) const;
  void release(uint64_t end);

  // Reader: the region starting at `pos` (within the message being read, not
  // yet released) is lent to the writer, which will return_loan() it.
  void lend(uint64_t pos);
  // Writer: done with the oldest loan.
  void return_loan();

 private:
  // The only shared state besides the data: the reader's progress, on a
  // cache line of its own.
  struct alignas(64) Control {
    uint64_t magic;
    uint64_t capacity;
    // Written by the reader. `hold` and `loans_made` are stored before
    // `consumed` (release), so a writer that sees a `consumed` sees them.
    alignas(64) std::atomic<uint64_t> consumed;
    std::atomic<uint64_t> loans_made;
    std::atomic<uint64_t> hold;            // start of the oldest loan not seen returned (kNoHold: none)
    // Written by the writer.
    alignas(64) std::atomic<uint64_t> loans_returned;
  };
  static constexpr uint64_t kNoHold = ~uint64_t{0};
  static_assert(sizeof(Control) <= 4096);
  static constexpr size_t kControlSize = 4096;  // one page, so the data is page-aligned

  SharedRing(int fd, void* map, size_t capacity);
  uint64_t free_from() const;
  uint64_t oldest_loan() const;

  int fd_;
  void* map_;
  size_t capacity_;
  Control* control_;
  char* data_;
  uint64_t head_ = 0;   // writer only: where the next region may start
  uint64_t floor_ = 0;  // writer only: everything below is free (the reader may not have said so yet)
  uint64_t returned_ = 0;           // writer only: loans returned
  std::deque<uint64_t> loans_;      // reader only: starts of loans not seen returned, in lending order
  uint64_t loans_made_ = 0;         // reader only
  uint64_t loans_seen_returned_ = 0;  // reader only
};

}  // namespace wsd::ipc
