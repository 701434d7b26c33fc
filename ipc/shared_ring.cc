#include "ipc/shared_ring.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <new>

namespace wsd::ipc {

namespace {
constexpr uint64_t kMagic = 0x676e69722d647377ull;  // "wsd-ring"

bool power_of_two(size_t n) { return n != 0 && (n & (n - 1)) == 0; }
}  // namespace

SharedRing::SharedRing(int fd, void* map, size_t capacity)
    : fd_(fd), map_(map), capacity_(capacity), control_(static_cast<Control*>(map)),
      data_(static_cast<char*>(map) + kControlSize) {}

SharedRing::~SharedRing() {
  munmap(map_, kControlSize + capacity_);
  close_fd();
}

void SharedRing::close_fd() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

std::unique_ptr<SharedRing> SharedRing::create(size_t capacity) {
  if (!power_of_two(capacity)) return nullptr;
  int fd = memfd_create("wsd-ipc-ring", MFD_CLOEXEC | MFD_ALLOW_SEALING);
  if (fd < 0) return nullptr;
  // Sealed at its size: the reader may trust that the mapping stays whole.
  if (ftruncate(fd, static_cast<off_t>(kControlSize + capacity)) != 0 ||
      fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW) != 0) {
    ::close(fd);
    return nullptr;
  }
  void* map = mmap(nullptr, kControlSize + capacity, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (map == MAP_FAILED) {
    ::close(fd);
    return nullptr;
  }
  auto* control = new (map) Control{};
  control->magic = kMagic;
  control->capacity = capacity;
  control->consumed.store(0, std::memory_order_relaxed);
  control->loans_made.store(0, std::memory_order_relaxed);
  control->hold.store(kNoHold, std::memory_order_relaxed);
  control->loans_returned.store(0, std::memory_order_relaxed);
  return std::unique_ptr<SharedRing>(new SharedRing(fd, map, capacity));
}

std::unique_ptr<SharedRing> SharedRing::attach(int fd) {
  struct stat st {};
  int seals = fcntl(fd, F_GET_SEALS);
  if (fstat(fd, &st) != 0 || seals < 0 || (seals & F_SEAL_SHRINK) == 0 ||
      static_cast<size_t>(st.st_size) <= kControlSize) {
    ::close(fd);
    return nullptr;
  }
  size_t capacity = static_cast<size_t>(st.st_size) - kControlSize;
  void* map = mmap(nullptr, static_cast<size_t>(st.st_size), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  ::close(fd);
  if (map == MAP_FAILED) return nullptr;
  const auto* control = static_cast<const Control*>(map);
  if (!power_of_two(capacity) || control->magic != kMagic || control->capacity != capacity) {
    munmap(map, static_cast<size_t>(st.st_size));
    return nullptr;
  }
  return std::unique_ptr<SharedRing>(new SharedRing(-1, map, capacity));
}

char* SharedRing::reserve(size_t n, uint64_t& pos) {
  if (n == 0 || n > capacity_) return nullptr;
  uint64_t consumed = std::max(free_from(), floor_);
  uint64_t p = head_;
  const size_t offset = p & (capacity_ - 1);
  const bool empty = consumed == head_;
  // Back to the front when the region would cross the end, and whenever the
  // ring is empty: its first bytes are the ones still in the caches.
  if (offset != 0 && (empty || offset + n > capacity_)) {
    p += capacity_ - offset;
    if (empty) consumed = floor_ = p;  // nothing unread in the bytes skipped
  }
  if (p + n - consumed > capacity_) return nullptr;
  head_ = p + n;
  pos = p;
  return data_ + (p & (capacity_ - 1));
}

// Where the bytes the writer may overwrite begin: what the reader consumed,
// unless a loan is out, then no further than the reader's oldest.
uint64_t SharedRing::free_from() const {
  const uint64_t consumed = control_->consumed.load(std::memory_order_acquire);
  if (control_->loans_made.load(std::memory_order_relaxed) == returned_) return consumed;
  // A stale hold is older than the truth (safe); a loan made after this
  // `consumed` lies above it (covered).
  return std::min(consumed, control_->hold.load(std::memory_order_relaxed));
}

void SharedRing::release(uint64_t end) {
  const uint64_t returned = control_->loans_returned.load(std::memory_order_acquire);
  while (!loans_.empty() && loans_seen_returned_ < returned) {
    loans_.pop_front();
    ++loans_seen_returned_;
  }
  control_->hold.store(oldest_loan(), std::memory_order_relaxed);
  control_->consumed.store(end, std::memory_order_release);
}

void SharedRing::lend(uint64_t pos) {
  loans_.push_back(pos);
  control_->hold.store(oldest_loan(), std::memory_order_relaxed);
  control_->loans_made.store(++loans_made_, std::memory_order_relaxed);
}

// The lowest start among the loans not seen returned: loans are returned in
// the order they were made, but their starts need not rise (slices of one
// region lent back in any order).
uint64_t SharedRing::oldest_loan() const {
  uint64_t lowest = kNoHold;
  for (uint64_t start : loans_) lowest = std::min(lowest, start);
  return lowest;
}

void SharedRing::return_loan() {
  control_->loans_returned.store(++returned_, std::memory_order_release);
}

const char* SharedRing::region(uint64_t pos, size_t n) const {
  const size_t offset = pos & (capacity_ - 1);
  if (n > capacity_ || offset + n > capacity_) return nullptr;
  return data_ + offset;
}

}  // namespace wsd::ipc
