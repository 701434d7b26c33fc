// One generator thread: an epoll loop that owns a share of the connections,
// opens them at the paced rate, dispatches their events, flushes their output
// once per iteration and closes dead ones at the end of the iteration.
#pragma once

#include <netinet/in.h>
#include <sys/epoll.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "bench/loadgen/clock.h"
#include "bench/loadgen/connection.h"
#include "bench/loadgen/histogram.h"
#include "bench/loadgen/mode.h"
#include "bench/loadgen/options.h"
#include "bench/loadgen/pollable.h"
#include "bench/loadgen/slow_trips.h"
#include "bench/loadgen/stats.h"

namespace wsd::loadgen {

// What all workers share: read-only after start, except `phase`.
struct RunContext {
  const Options* options = nullptr;
  Mode* mode = nullptr;
  sockaddr_in dst{};
  sockaddr_in publish_dst{};         // the publisher's server (--publish-port)
  std::vector<sockaddr_in> sources;  // empty: no bind
  std::string host_header;           // "host:port"
  std::atomic<Phase> phase{Phase::Connect};
};

class WorkerThread final : private Pollable {
 public:
  // Owns connections [first, first + count) of the run; with `publisher`
  // the first of them is the broadcast publisher.
  WorkerThread(RunContext& run, uint32_t index, uint32_t first, uint32_t count, bool publisher);
  ~WorkerThread();
  WorkerThread(const WorkerThread&) = delete;
  WorkerThread& operator=(const WorkerThread&) = delete;

  void start();
  void join();
  // Makes the loop notice a phase change (or anything else) now.
  void wake();

  // ---- For the main thread --------------------------------------------------
  const ThreadStats& stats() const { return stats_; }
  // Valid after join().
  const Histogram& histogram() const { return histogram_; }
  const SlowTrips& slow_trips() const { return slow_trips_; }

  // ---- For connections and modes (worker thread only) -----------------------
  uint32_t index() const { return index_; }
  const Options& options() const { return *run_.options; }
  const RunContext& run() const { return run_; }
  Mode& mode() { return *run_.mode; }
  Phase phase() const { return phase_; }
  ThreadStats& stats() { return stats_; }
  // Time of the last read (or loop wake-up), in ns.
  uint64_t now() const { return now_; }
  void touch_now() { now_ = now_ns(); }
  uint64_t random();
  uint8_t* scratch() { return scratch_.get(); }
  size_t scratch_size() const { return kScratchSize; }
  std::string& text_scratch() { return text_; }
  // Records a latency; only during the Measure phase.
  void record_latency(uint64_t ns) {
    if (phase_ == Phase::Measure) histogram_.record(ns);
  }
  // The same for an echo of `c`, also kept when slower than --slow-us.
  void record_round_trip(uint64_t ns, const Connection& c) {
    record_latency(ns);
    if (phase_ == Phase::Measure && ns > slow_ns_)
      slow_trips_.record(now_, ns, first_ + static_cast<uint32_t>(&c - conns_.get()));
  }
  void poll_add(int fd, uint32_t events, Pollable* p);
  void poll_mod(int fd, uint32_t events, Pollable* p);
  void mark_dirty(Connection& c);
  void mark_dead(Connection& c);
  // The connection may have left bytes unread (its read budget ran out, or
  // frames came behind the handshake's answer); edge-triggered, the socket
  // will not report them again: read after this iteration, and do not
  // sleep before.
  void read_again(Connection& c) { read_again_.push_back(&c); }
  void on_open(Connection& c);

 private:
  static constexpr size_t kScratchSize = 256 * 1024;
  static constexpr int kMaxEvents = 512;

  void run_loop();
  void enter_phase(Phase p);
  void open_due();
  int wait_ms();
  void flush_dirty();
  void read_pending();
  void reap_dead();
  void check_timeouts();
  void on_events(uint32_t events) override;  // the wake-up eventfd

  RunContext& run_;
  const uint32_t index_;
  const uint32_t first_;
  const uint32_t count_;
  const bool has_publisher_;
  std::unique_ptr<Connection[]> conns_;
  uint32_t started_ = 0;       // connections begun
  uint64_t connect_t0_ = 0;    // pacing origin
  uint64_t last_timeout_check_ = 0;
  Phase phase_ = Phase::Connect;
  uint64_t now_ = 0;
  uint64_t rng_;
  int epfd_ = -1;
  int wakefd_ = -1;
  std::unique_ptr<uint8_t[]> scratch_;
  std::string text_;
  std::vector<Connection*> dirty_;
  std::vector<Connection*> dead_;
  std::vector<Connection*> read_again_;
  std::vector<Connection*> reading_;   // read_again_ being served
  ThreadStats stats_;
  Histogram histogram_;
  const uint64_t slow_ns_;  // UINT64_MAX: no --slow-log
  SlowTrips slow_trips_;
  std::thread thread_;
};

}  // namespace wsd::loadgen
