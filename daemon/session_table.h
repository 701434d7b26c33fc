// The session table: one slot per live connection, in shared memory mapped
// before the workers start, so that a worker answers exist, is_established,
// get_client_info and iteration without a round trip to the master.
//
// Writers: the master's reactor thread that owns the slot. Readers: any
// worker, any time. Ids are (sequence << kSlotBits) | slot with a sequence
// that only grows, so an id is never reused while the master lives and a
// stale id is detectably dead (the slot holds another id or none).
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <vector>

namespace wsd::daemon {

constexpr int kSlotBits = 24;
constexpr uint64_t kSlotMask = (uint64_t{1} << kSlotBits) - 1;

inline uint32_t slot_of(uint64_t id) { return static_cast<uint32_t>(id & kSlotMask); }

// In a cluster, ids carry the node that holds them:
// (node << 52) | (sequence & (2^28 - 1)) << 24 | slot. Node 0 (no cluster)
// keeps the plain (sequence << 24) | slot.
constexpr int kNodeShift = 52;
constexpr uint64_t kClusterSequenceMask = (uint64_t{1} << (kNodeShift - kSlotBits)) - 1;
inline uint32_t node_of(uint64_t id) { return static_cast<uint32_t>(id >> kNodeShift); }

struct SessionInfo {
  uint8_t status = 0;         // WSD_STATUS_* (0 = plain HTTP connection)
  uint8_t reactor = 0;
  uint16_t worker = 0;        // home worker
  uint16_t remote_port = 0;   // the client (after PROXY / X-Forwarded-For)
  uint16_t server_port = 0;
  uint8_t family = 0;         // AF_INET or AF_INET6
  uint8_t tls = 0;
  uint8_t addr[16] = {};
  uint8_t peer_family = 0;    // the TCP peer
  uint16_t peer_port = 0;
  uint8_t peer_addr[16] = {};
  int64_t connect_time = 0;
  int64_t last_time = 0;
};

struct SessionSlot {
  std::atomic<uint64_t> id;        // 0 = free
  std::atomic<uint32_t> version;   // seqlock: odd while the fields below change
  std::atomic<uint8_t> status;     // also readable on its own
  std::atomic<uint32_t> output;    // bytes queued for the client (push checks it)
  std::atomic<int64_t> last_time;
  SessionInfo info;
};

struct SessionHeader {
  uint32_t capacity;
  std::atomic<uint32_t> high_water;   // slots below it may be in use
  std::atomic<uint64_t> next_sequence;
  std::atomic<uint32_t> live;          // connections now
  uint32_t node;                       // cluster node number in ids (0: none)
};

class SessionTable {
 public:
  // Creates the shared mapping (memfd) for `capacity` connections. Pages are
  // touched only as slots are used. `node`: the cluster node number its ids
  // carry (0 without a cluster).
  static SessionTable create(uint32_t capacity, uint32_t node = 0);
  // Maps a table created by another process from its memfd.
  static SessionTable attach(int fd);
  SessionTable() = default;
  SessionTable(SessionTable&&) noexcept;
  SessionTable& operator=(SessionTable&&) noexcept;
  ~SessionTable();

  int fd() const { return fd_; }
  bool valid() const { return header_ != nullptr; }
  uint32_t capacity() const { return header_->capacity; }

  // BASE mode: this process allocates only slots with slot % count == index
  // (each worker has its own share of one table that every worker reads).
  // Releases whatever a crashed predecessor left in that share.
  void set_partition(uint32_t index, uint32_t count);

  // Owner side. acquire returns 0 when the table (or this share) is full.
  uint64_t acquire(const SessionInfo& info);
  void set_status(uint64_t id, uint8_t status);
  void set_worker(uint64_t id, uint16_t worker);
  // The real client, learnt from a trusted proxy.
  void set_remote(uint64_t id, uint8_t family, const uint8_t* addr, uint16_t port);
  void set_output(uint64_t id, size_t bytes);
  void touch(uint64_t id, int64_t now);
  void release(uint64_t id);

  // Any process.
  bool exists(uint64_t id) const;
  uint8_t status(uint64_t id) const;   // 0xFF when it does not exist
  size_t output(uint64_t id) const;
  // The reactor that owns the connection (fixed for the slot's life); -1 if gone.
  int reactor_of(uint64_t id) const;
  bool read(uint64_t id, SessionInfo& out) const;
  // Fills up to max ids starting at *cursor (a slot index); advances it.
  size_t list(uint64_t& cursor, uint64_t* out, size_t max, bool websocket_only) const;
  uint32_t live() const { return header_->live.load(std::memory_order_relaxed); }

 private:
  SessionSlot* slot(uint64_t id) const;
  int fd_ = -1;
  size_t bytes_ = 0;
  SessionHeader* header_ = nullptr;
  SessionSlot* slots_ = nullptr;
  // Master-process only: free slot indices (lowest reused first keeps the
  // touched part of the mapping small).
  std::mutex free_mutex_;
  std::vector<uint32_t> free_;
  uint32_t next_fresh_ = 1;     // next never-used slot of this process's share
  uint32_t stride_ = 1;
};

}  // namespace wsd::daemon
