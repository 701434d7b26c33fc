// Counters shared by the master and every worker process: one memfd mapped
// before the workers start, like the session table, so that a plugin's
// stats() and the admin listener's /metrics read them without a round trip
// and the counts survive a worker's crash, reload or replacement.
//
// Each reactor writes only its own block and each worker slot its own block
// (a replaced worker and its successor share the slot for a moment, hence
// atomic adds). Readers see each counter on its own: a scrape is not one
// instant, which is what Prometheus counters expect anyway.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

namespace wsd::daemon {

// PROCESS mode has reactor_num (≤ 64) reactors; BASE mode one per worker.
constexpr int kMaxReactorStats = 256;
constexpr int kMaxWorkerStats = 256;

// Why a connection did not become a WebSocket connection (or HTTP exchange).
enum class HandshakeFailure : uint8_t {
  BadRequest,      // malformed HTTP, a limit of the request parser (400, 413, 431, 505), no Host
  NotFound,        // no plugin serves the path (404)
  Version,         // not Sec-WebSocket-Version: 13 (426)
  Origin,          // origin not allowed (403)
  Invalid,         // any other handshake rule (400: key, method, headers)
  PluginRefused,   // a custom handshake answered something else than 101
  Timeout,         // handshake_timeout passed
  ProxyHeader,     // a bad PROXY protocol header
  Tls,             // the TLS handshake failed
  kCount
};
const char* handshake_failure_name(HandshakeFailure f);

struct Counter {
  std::atomic<uint64_t> value{0};
  void add(uint64_t n = 1) { value.fetch_add(n, std::memory_order_relaxed); }
  void set(uint64_t n) { value.store(n, std::memory_order_relaxed); }  // gauges
  uint64_t get() const { return value.load(std::memory_order_relaxed); }
};

struct alignas(64) ReactorStats {
  Counter accepted;
  Counter closed;
  Counter refused;              // max_connection, per-IP limits
  Counter http_requests;        // plain HTTP requests handed to a plugin
  Counter messages_in;          // WebSocket messages from clients
  Counter messages_out;         // data frames to clients
  Counter bytes_in;
  Counter bytes_out;
  Counter deliveries_refused;   // push / publish to a connection whose output was full
  Counter lost_events;          // taken by a worker that died before finishing them
  Counter handshake_failures[static_cast<int>(HandshakeFailure::kCount)];
  Counter topics;               // topics with subscribers now (a gauge, set by the reactor)
  Counter ipc_queue_bytes;      // bytes queued on its channels towards workers now (a gauge)
};

struct alignas(64) WorkerStats {
  std::atomic<int32_t> pid{0};
  Counter events;               // events handed to plugins
  Counter messages;             // of which WebSocket messages
  Counter pushes;               // pushes sent on
  Counter failed_calls;         // push / disconnect / close / subscribe refused (any reason)
  Counter restarts;             // processes that held the slot after the first
  Counter events_at_start;      // `events` when the process now in the slot took over
  Counter messages_at_start;    // `messages` then (max_request counts from here)
  Counter queue_bytes;          // bytes queued towards the reactors now (a gauge)
};

// The cluster (docs/cluster.md): written by the master's ClusterBridge, read
// by workers (push to a remote id checks `live` without a round trip) and by
// /metrics. Zero without a `cluster:` section.
constexpr int kMaxClusterNodes = 4096;   // node numbers 1..4095
struct alignas(64) ClusterStats {
  Counter node_number;          // this node's (0: no cluster)
  Counter up;                   // 1 while both Redis links are connected (a gauge)
  Counter nodes;                // live nodes, this one included (a gauge)
  Counter connections;          // connections on all live nodes (a gauge, as of the last heartbeat)
  Counter sent;                 // messages PUBLISHed to other nodes
  Counter received;             // messages from other nodes acted on
  Counter send_failures;        // cross-node operations refused: node not live, Redis down
  Counter dropped;              // malformed or foreign messages read on our channels
  std::atomic<uint64_t> live[kMaxClusterNodes / 64];   // bitmap of live node numbers

  bool is_live(uint32_t node) const {
    return node < kMaxClusterNodes && (live[node / 64].load(std::memory_order_relaxed) >> (node % 64)) & 1;
  }
};

// A worker waiting for a remote exist / is_established answer: the master
// stores the query's 24-bit sequence with the answer in bit 24 (one store,
// so a late reply to an earlier query cannot mix with this one) and wakes
// the futex on it. One per worker slot.
struct alignas(64) ClusterReplySlot {
  std::atomic<uint32_t> value{0};
};

struct StatsBlock {
  int64_t start_time;           // unix seconds
  uint32_t worker_num;
  uint32_t reactor_count;       // blocks in use below
  ReactorStats reactors[kMaxReactorStats];
  WorkerStats workers[kMaxWorkerStats];
  ClusterStats cluster;
  ClusterReplySlot replies[kMaxWorkerStats];
};

class SharedStats {
 public:
  static SharedStats create(uint32_t worker_num, uint32_t reactor_count);
  static SharedStats attach(int fd);
  SharedStats() = default;
  SharedStats(SharedStats&&) noexcept;
  SharedStats& operator=(SharedStats&&) noexcept;
  ~SharedStats();

  int fd() const { return fd_; }
  bool valid() const { return block_ != nullptr; }
  StatsBlock& block() const { return *block_; }
  ReactorStats& reactor(int r) const { return block_->reactors[r]; }
  WorkerStats& worker(int w) const { return block_->workers[w]; }

  // Sums over the reactor blocks in use.
  uint64_t sum(Counter ReactorStats::*field) const;
  uint64_t sum_failures(HandshakeFailure f) const;

 private:
  int fd_ = -1;
  StatsBlock* block_ = nullptr;
};

}  // namespace wsd::daemon
