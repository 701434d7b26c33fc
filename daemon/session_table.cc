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
constexpr uint8_t kSlotTls = 1;
constexpr uint8_t kSlotRemoteV6 = 2;
constexpr uint8_t kSlotPeerV6 = 4;

size_t mapping_size(uint32_t capacity) {
  return sizeof(SessionHeader) + 64 + size_t{capacity} * sizeof(SessionSlot);
}
SessionSlot* slots_after(SessionHeader* h) {
  auto p = reinterpret_cast<uintptr_t>(h + 1);
  p = (p + 63) & ~uintptr_t{63};
  return reinterpret_cast<SessionSlot*>(p);
}
uint32_t wall32(int64_t t) { return static_cast<uint32_t>(t); }
}  // namespace

SessionTable SessionTable::create(uint32_t capacity, uint32_t shares, uint32_t node) {
  if (shares == 0 || shares > kMaxShares || capacity / shares < 2) throw std::runtime_error("bad session table shares");
  SessionTable t;
  t.fd_ = memfd_create("wsd-sessions", 0);
  if (t.fd_ < 0) throw std::runtime_error("memfd_create failed");
  t.bytes_ = mapping_size(capacity);
  if (ftruncate(t.fd_, static_cast<off_t>(t.bytes_)) != 0) throw std::runtime_error("ftruncate failed");
  void* p = mmap(nullptr, t.bytes_, PROT_READ | PROT_WRITE, MAP_SHARED, t.fd_, 0);
  if (p == MAP_FAILED) throw std::runtime_error("mmap of the session table failed");
  t.header_ = static_cast<SessionHeader*>(p);  // memfd pages start zeroed
  t.header_->capacity = capacity;
  t.header_->shares = shares;
  t.header_->next_sequence.store(1);
  for (uint32_t s = 0; s < shares; ++s) t.header_->high_water[s].store(t.share_begin(s));
  t.header_->node = node;
  t.slots_ = slots_after(t.header_);
  t.next_fresh_ = t.share_begin(0);
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
  t.next_fresh_ = t.share_begin(0);
  return t;
}

SessionTable::SessionTable(SessionTable&& o) noexcept { *this = std::move(o); }

SessionTable& SessionTable::operator=(SessionTable&& o) noexcept {
  std::swap(fd_, o.fd_);
  std::swap(bytes_, o.bytes_);
  std::swap(header_, o.header_);
  std::swap(slots_, o.slots_);
  std::swap(free_, o.free_);
  std::swap(share_, o.share_);
  std::swap(next_fresh_, o.next_fresh_);
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

// Share s is the slots [share_begin(s), share_end(s)); slot 0 is never used,
// so that id 0 can mean "none".
uint32_t SessionTable::share_begin(uint32_t share) const {
  uint32_t b = header_->capacity / header_->shares * share;
  return b == 0 ? 1 : b;
}

uint32_t SessionTable::share_end(uint32_t share) const {
  return share + 1 == header_->shares ? header_->capacity : header_->capacity / header_->shares * (share + 1);
}

void SessionTable::set_partition(uint32_t index) {
  std::lock_guard lock(free_mutex_);
  share_ = index;
  free_.clear();
  uint32_t high = header_->high_water[index].load(std::memory_order_acquire);
  for (uint32_t s = share_begin(index); s < high; ++s) {
    uint64_t id = slots_[s].id.load(std::memory_order_acquire);
    if (id != 0) {
      slots_[s].id.store(0, std::memory_order_release);
      header_->live.fetch_sub(1, std::memory_order_relaxed);
    }
    free_.push_back(s);
  }
  // Lowest first out of the free list (it is used as a stack).
  std::reverse(free_.begin(), free_.end());
  next_fresh_ = std::max(high, share_begin(index));
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
      if (index >= share_end(share_)) return 0;
      next_fresh_++;
      header_->high_water[share_].store(next_fresh_, std::memory_order_release);
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
  s.reactor = info.reactor;
  s.worker = static_cast<uint8_t>(info.worker);
  s.flags = static_cast<uint8_t>((info.tls ? kSlotTls : 0) | (info.family == AF_INET6 ? kSlotRemoteV6 : 0) |
                                 (info.peer_family == AF_INET6 ? kSlotPeerV6 : 0));
  s.server_port = info.server_port;
  s.remote_port = info.remote_port;
  s.peer_port = info.peer_port;
  s.connect_time = wall32(info.connect_time);
  std::memcpy(s.addr, info.addr, sizeof s.addr);
  std::memcpy(s.peer_addr, info.peer_addr, sizeof s.peer_addr);
  s.status.store(info.status, std::memory_order_relaxed);
  s.output.store(0, std::memory_order_relaxed);
  s.last_time.store(wall32(info.last_time), std::memory_order_relaxed);
  s.version.fetch_add(1, std::memory_order_acq_rel);
  s.id.store(id, std::memory_order_release);
  header_->live.fetch_add(1, std::memory_order_relaxed);
  return id;
}

void SessionTable::set_status(uint64_t id, uint8_t status) {
  if (SessionSlot* s = slot(id)) s->status.store(status, std::memory_order_release);
}

void SessionTable::set_worker(uint64_t id, uint16_t worker) {
  if (SessionSlot* s = slot(id)) {
    s->version.fetch_add(1, std::memory_order_acq_rel);
    s->worker = static_cast<uint8_t>(worker);
    s->version.fetch_add(1, std::memory_order_acq_rel);
  }
}

void SessionTable::set_remote(uint64_t id, uint8_t family, const uint8_t* addr, uint16_t port) {
  if (SessionSlot* s = slot(id)) {
    s->version.fetch_add(1, std::memory_order_acq_rel);
    s->flags = static_cast<uint8_t>((s->flags & ~kSlotRemoteV6) | (family == AF_INET6 ? kSlotRemoteV6 : 0));
    std::memset(s->addr, 0, sizeof s->addr);
    std::memcpy(s->addr, addr, family == AF_INET ? 4 : 16);
    s->remote_port = port;
    s->version.fetch_add(1, std::memory_order_acq_rel);
  }
}

void SessionTable::set_output(uint64_t id, size_t bytes) {
  if (SessionSlot* s = slot(id)) s->output.store(static_cast<uint32_t>(std::min<size_t>(bytes, UINT32_MAX)), std::memory_order_relaxed);
}

void SessionTable::touch(uint64_t id, int64_t now) {
  if (SessionSlot* s = slot(id)) s->last_time.store(wall32(now), std::memory_order_relaxed);
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
  return s->reactor;
}

bool SessionTable::read(uint64_t id, SessionInfo& out) const {
  SessionSlot* s = slot(id);
  if (!s) return false;
  for (int attempt = 0; attempt < 1000; ++attempt) {
    uint16_t v1 = s->version.load(std::memory_order_acquire);
    if (v1 & 1) continue;
    if (s->id.load(std::memory_order_acquire) != id) return false;
    // The plain fields may be torn by a writer; the version check below
    // discards such a copy.
    SessionInfo copy;
    std::atomic_thread_fence(std::memory_order_acquire);
    copy.reactor = s->reactor;
    copy.worker = s->worker;
    copy.tls = (s->flags & kSlotTls) ? 1 : 0;
    copy.family = (s->flags & kSlotRemoteV6) ? AF_INET6 : AF_INET;
    copy.peer_family = (s->flags & kSlotPeerV6) ? AF_INET6 : AF_INET;
    copy.server_port = s->server_port;
    copy.remote_port = s->remote_port;
    copy.peer_port = s->peer_port;
    copy.connect_time = s->connect_time;
    std::memcpy(copy.addr, s->addr, sizeof copy.addr);
    std::memcpy(copy.peer_addr, s->peer_addr, sizeof copy.peer_addr);
    std::atomic_thread_fence(std::memory_order_acquire);
    if (s->version.load(std::memory_order_acquire) == v1 && s->id.load(std::memory_order_acquire) == id) {
      copy.status = s->status.load(std::memory_order_acquire);
      copy.last_time = s->last_time.load(std::memory_order_relaxed);
      out = copy;
      return true;
    }
  }
  return false;
}

// Walks the shares in order, each only up to its high-water mark: the
// never-used slots between shares are not read (reading would make their
// pages resident).
size_t SessionTable::list(uint64_t& cursor, uint64_t* out, size_t max, bool websocket_only) const {
  size_t n = 0;
  const uint32_t capacity = header_->capacity;
  if (cursor == 0) cursor = 1;
  while (cursor < capacity && n < max) {
    auto index = static_cast<uint32_t>(cursor);
    uint32_t share = std::min(index / (capacity / header_->shares), header_->shares - 1);
    if (index >= header_->high_water[share].load(std::memory_order_acquire)) {
      cursor = share_end(share);
      continue;
    }
    const SessionSlot& s = slots_[cursor++];
    uint64_t id = s.id.load(std::memory_order_acquire);
    if (id == 0) continue;
    if (websocket_only && s.status.load(std::memory_order_acquire) != 3) continue;
    out[n++] = id;
  }
  return n;
}

}  // namespace wsd::daemon
