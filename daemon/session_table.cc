#include "daemon/session_table.h"

#include <algorithm>
#include <cstring>
#include <netinet/in.h>
#include <stdexcept>
#include <string>
#include <sys/mman.h>
#include <unistd.h>

namespace wsd::daemon {

namespace {
size_t mapping_size(uint32_t capacity) {
  return sizeof(SessionHeader) + 64 + size_t{capacity} * sizeof(SessionSlot);
}
SessionSlot* slots_after(SessionHeader* h) {
  auto p = reinterpret_cast<uintptr_t>(h + 1);
  p = (p + 63) & ~uintptr_t{63};
  return reinterpret_cast<SessionSlot*>(p);
}
}  // namespace

SessionTable SessionTable::create(uint32_t capacity, uint32_t node) {
  SessionTable t;
  t.fd_ = memfd_create("wsd-sessions", 0);
  if (t.fd_ < 0) throw std::runtime_error("memfd_create failed");
  t.bytes_ = mapping_size(capacity);
  if (ftruncate(t.fd_, static_cast<off_t>(t.bytes_)) != 0) throw std::runtime_error("ftruncate failed");
  void* p = mmap(nullptr, t.bytes_, PROT_READ | PROT_WRITE, MAP_SHARED, t.fd_, 0);
  if (p == MAP_FAILED) throw std::runtime_error("mmap of the session table failed");
  t.header_ = static_cast<SessionHeader*>(p);  // memfd pages start zeroed
  t.header_->capacity = capacity;
  t.header_->next_sequence.store(1);
  t.header_->node = node;
  t.slots_ = slots_after(t.header_);
  // Slot 0 is never used, so that id 0 can mean "none".
  t.free_.reserve(1024);
  return t;
}

SessionTable SessionTable::attach(int fd) {
  SessionTable t;
  SessionHeader probe;
  if (pread(fd, &probe.capacity, sizeof(probe.capacity), 0) != sizeof(probe.capacity))
    throw std::runtime_error("cannot read the session table");
  t.fd_ = fd;
  t.bytes_ = mapping_size(probe.capacity);
  void* p = mmap(nullptr, t.bytes_, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (p == MAP_FAILED) throw std::runtime_error("mmap of the session table failed");
  t.header_ = static_cast<SessionHeader*>(p);
  t.slots_ = slots_after(t.header_);
  return t;
}

SessionTable::SessionTable(SessionTable&& o) noexcept { *this = std::move(o); }

SessionTable& SessionTable::operator=(SessionTable&& o) noexcept {
  std::swap(fd_, o.fd_);
  std::swap(bytes_, o.bytes_);
  std::swap(header_, o.header_);
  std::swap(slots_, o.slots_);
  std::swap(free_, o.free_);
  return *this;
}

SessionTable::~SessionTable() {
  if (header_) munmap(header_, bytes_);
  if (fd_ >= 0) close(fd_);
}

SessionSlot* SessionTable::slot(uint64_t id) const {
  uint32_t s = slot_of(id);
  if (id == 0 || s == 0 || s >= header_->capacity) return nullptr;
  return &slots_[s];
}

void SessionTable::set_partition(uint32_t index, uint32_t count) {
  stride_ = count;
  next_fresh_ = index == 0 ? count : index;  // slot 0 stays unused
  uint32_t high = header_->high_water.load(std::memory_order_acquire);
  for (uint32_t s = next_fresh_; s < high; s += stride_) {
    uint64_t id = slots_[s].id.load(std::memory_order_acquire);
    if (id != 0) {
      slots_[s].id.store(0, std::memory_order_release);
      header_->live.fetch_sub(1, std::memory_order_relaxed);
    }
    free_.push_back(s);
  }
  // Lowest first out of the free list (it is used as a stack).
  std::reverse(free_.begin(), free_.end());
  while (next_fresh_ < high) next_fresh_ += stride_;
}

uint64_t SessionTable::acquire(const SessionInfo& info) {
  uint32_t index;
  {
    std::lock_guard lock(free_mutex_);
    if (!free_.empty()) {
      index = free_.back();
      free_.pop_back();
    } else {
      index = next_fresh_;
      if (index >= header_->capacity) return 0;
      next_fresh_ += stride_;
      // Raise the shared high-water mark (several processes may race).
      uint32_t high = header_->high_water.load(std::memory_order_relaxed);
      while (high < index + 1 &&
             !header_->high_water.compare_exchange_weak(high, index + 1, std::memory_order_release)) {
      }
    }
  }
  uint64_t seq = header_->next_sequence.fetch_add(1, std::memory_order_relaxed);
  uint64_t id = (seq << kSlotBits) | index;
  if (header_->node != 0) {
    // The sequence wraps after 2^28 connections: a slot's id can recur only
    // after that many connections, where a plain id never recurs.
    uint64_t masked = seq & kClusterSequenceMask;
    id = (uint64_t{header_->node} << kNodeShift) | ((masked ? masked : 1) << kSlotBits) | index;
  }
  SessionSlot& s = slots_[index];
  s.version.fetch_add(1, std::memory_order_acq_rel);
  s.info = info;
  s.status.store(info.status, std::memory_order_relaxed);
  s.output.store(0, std::memory_order_relaxed);
  s.last_time.store(info.last_time, std::memory_order_relaxed);
  s.version.fetch_add(1, std::memory_order_acq_rel);
  s.id.store(id, std::memory_order_release);
  header_->live.fetch_add(1, std::memory_order_relaxed);
  return id;
}

void SessionTable::set_status(uint64_t id, uint8_t status) {
  if (SessionSlot* s = slot(id)) {
    s->version.fetch_add(1, std::memory_order_acq_rel);
    s->info.status = status;
    s->status.store(status, std::memory_order_release);
    s->version.fetch_add(1, std::memory_order_acq_rel);
  }
}

void SessionTable::set_worker(uint64_t id, uint16_t worker) {
  if (SessionSlot* s = slot(id)) {
    s->version.fetch_add(1, std::memory_order_acq_rel);
    s->info.worker = worker;
    s->version.fetch_add(1, std::memory_order_acq_rel);
  }
}

void SessionTable::set_remote(uint64_t id, uint8_t family, const uint8_t* addr, uint16_t port) {
  if (SessionSlot* s = slot(id)) {
    s->version.fetch_add(1, std::memory_order_acq_rel);
    s->info.family = family;
    std::memcpy(s->info.addr, addr, family == AF_INET ? 4 : 16);
    s->info.remote_port = port;
    s->version.fetch_add(1, std::memory_order_acq_rel);
  }
}

void SessionTable::set_output(uint64_t id, size_t bytes) {
  if (SessionSlot* s = slot(id)) s->output.store(static_cast<uint32_t>(std::min<size_t>(bytes, UINT32_MAX)), std::memory_order_relaxed);
}

void SessionTable::touch(uint64_t id, int64_t now) {
  if (SessionSlot* s = slot(id)) s->last_time.store(now, std::memory_order_relaxed);
}

void SessionTable::release(uint64_t id) {
  SessionSlot* s = slot(id);
  if (!s || s->id.load(std::memory_order_relaxed) != id) return;
  s->id.store(0, std::memory_order_release);
  s->status.store(0, std::memory_order_relaxed);
  header_->live.fetch_sub(1, std::memory_order_relaxed);
  std::lock_guard lock(free_mutex_);
  free_.push_back(slot_of(id));
}

bool SessionTable::exists(uint64_t id) const {
  SessionSlot* s = slot(id);
  return s && s->id.load(std::memory_order_acquire) == id;
}

uint8_t SessionTable::status(uint64_t id) const {
  SessionSlot* s = slot(id);
  if (!s || s->id.load(std::memory_order_acquire) != id) return 0xFF;
  uint8_t st = s->status.load(std::memory_order_acquire);
  return s->id.load(std::memory_order_acquire) == id ? st : 0xFF;
}

size_t SessionTable::output(uint64_t id) const {
  SessionSlot* s = slot(id);
  return s ? s->output.load(std::memory_order_relaxed) : 0;
}

int SessionTable::reactor_of(uint64_t id) const {
  SessionSlot* s = slot(id);
  if (!s || s->id.load(std::memory_order_acquire) != id) return -1;
  return s->info.reactor;
}

bool SessionTable::read(uint64_t id, SessionInfo& out) const {
  SessionSlot* s = slot(id);
  if (!s) return false;
  for (int attempt = 0; attempt < 1000; ++attempt) {
    uint32_t v1 = s->version.load(std::memory_order_acquire);
    if (v1 & 1) continue;
    if (s->id.load(std::memory_order_acquire) != id) return false;
    // Copied field by field through a volatile-free memcpy; the version
    // check below discards a torn copy.
    SessionInfo copy;
    std::atomic_thread_fence(std::memory_order_acquire);
    copy = s->info;
    std::atomic_thread_fence(std::memory_order_acquire);
    if (s->version.load(std::memory_order_acquire) == v1 && s->id.load(std::memory_order_acquire) == id) {
      out = copy;
      out.last_time = s->last_time.load(std::memory_order_relaxed);
      return true;
    }
  }
  return false;
}

size_t SessionTable::list(uint64_t& cursor, uint64_t* out, size_t max, bool websocket_only) const {
  size_t n = 0;
  uint32_t high = header_->high_water.load(std::memory_order_acquire);
  if (cursor == 0) cursor = 1;
  while (cursor < high && n < max) {
    const SessionSlot& s = slots_[cursor++];
    uint64_t id = s.id.load(std::memory_order_acquire);
    if (id == 0) continue;
    if (websocket_only && s.status.load(std::memory_order_acquire) != 3) continue;
    out[n++] = id;
  }
  return n;
}

}  // namespace wsd::daemon
