// The session table: one slot per live connection, in shared memory mapped
// before the workers start, so that a worker answers exist, is_established,
// get_client_info and iteration without a round trip to the master.
//
// Writers: the master's reactor thread that owns the slot (BASE mode: the
// worker that owns it). Readers: any worker, any time. Ids are
// (sequence << kSlotBits) | slot with a sequence that only grows, so an id is
// never reused while the master lives and a stale id is detectably dead (the
// slot holds another id or none).
//
// Memory: a slot is one 64-byte cache line, and only the pages of slots in
// use are ever touched. In BASE mode each worker allocates from its own
// contiguous share of the slots, so a page is touched by one process only
// (resident memory is counted in every process that touches a page).
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <vector>

namespace wsd::daemon {

constexpr int kSlotBits = 24;
constexpr uint64_t kSlotMask = (uint64_t{1} << kSlotBits) - 1;
// Shares of the table (BASE mode: one per worker; worker_num <= 256).
constexpr uint32_t kMaxShares = 256;

inline uint32_t slot_of(uint64_t id) { return static_cast<uint32_t>(id & kSlotMask); }

// In a cluster, ids carry the node that holds them:
// (node << 52) | (sequence & (2^28 - 1)) << 24 | slot. Node 0 (no cluster)
// keeps the plain (sequence << 24) | slot.
constexpr int kNodeShift = 52;
constexpr uint64_t kClusterSequenceMask = (uint64_t{1} << (kNodeShift - kSlotBits)) - 1;
inline uint32_t node_of(uint64_t id) { return static_cast<uint32_t>(id >> kNodeShift); }

// A connection as readers see it (what read() returns and acquire() takes).
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

// How a slot stores it: one cache line. Times are wall seconds in 32 bits
// (good until 2106).
struct SessionSlot {
  std::atomic<uint64_t> id;          // 0 = free
  std::atomic<uint32_t> output;      // bytes queued for the client (push checks it)
  std::atomic<uint32_t> last_time;
  // Seqlock: odd while the plain fields below change. 16 bits are enough: a
  // reader also checks the id, and one id sees only a handful of writes.
  std::atomic<uint16_t> version;
  std::atomic<uint8_t> status;       // also readable on its own
  uint8_t reactor;
  uint8_t worker;                    // worker_num <= 256
  uint8_t flags;                     // kSlotTls, kSlotRemoteV6, kSlotPeerV6
  uint16_t server_port;
  uint16_t remote_port;
  uint16_t peer_port;
  uint32_t connect_time;
  uint8_t addr[16];                  // the client
  uint8_t peer_addr[16];             // the TCP peer
};
static_assert(sizeof(SessionSlot) == 64, "a slot is one cache line");

struct SessionHeader {
  uint32_t capacity;
  uint32_t shares;
  std::atomic<uint64_t> next_sequence;
  std::atomic<uint32_t> live;                     // connections now
  uint32_t node;                                  // cluster node number in ids (0: none)
  std::atomic<uint32_t> high_water[kMaxShares];   // per share: slots below it may be in use
};

class SessionTable {
 public:
  // Creates the shared mapping (memfd) for `capacity` slots in `shares`
  // contiguous shares. Pages are touched only as slots are used. `node`: the
  // cluster node number its ids carry (0 without a cluster).
  static SessionTable create(uint32_t capacity, uint32_t shares = 1, uint32_t node = 0);
  // Maps a table created by another process from its memfd.
  static SessionTable attach(int fd);
  SessionTable() = default;
  SessionTable(SessionTable&&) noexcept;
  SessionTable& operator=(SessionTable&&) noexcept;
  ~SessionTable();

  int fd() const { return fd_; }
  bool valid() const { return header_ != nullptr; }
  uint32_t capacity() const { return header_->capacity; }

  // BASE mode: this process allocates only from share `index` (each worker
  // has its own share of one table that every worker reads). Releases
  // whatever a crashed predecessor left in that share. Without a call, a
  // process allocates from share 0.
  void set_partition(uint32_t index);

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
  uint32_t share_begin(uint32_t share) const;
  uint32_t share_end(uint32_t share) const;
  int fd_ = -1;
  size_t bytes_ = 0;
  SessionHeader* header_ = nullptr;
  SessionSlot* slots_ = nullptr;
  // This process's share: free slot indices (lowest reused first keeps the
  // touched part of the mapping small) and the next never-used one.
  std::mutex free_mutex_;
  std::vector<uint32_t> free_;
  uint32_t share_ = 0;
  uint32_t next_fresh_ = 1;
};

}  // namespace wsd::daemon
