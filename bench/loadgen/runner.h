// The main thread's side of a run: starts the workers, steps them through the
// phases, takes snapshots (counters, server and client CPU, server RSS) and
// collects the latency histograms at the end. The modes' run functions are
// written in terms of it.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "bench/loadgen/histogram.h"
#include "bench/loadgen/mode.h"
#include "bench/loadgen/options.h"
#include "bench/loadgen/proc_stats.h"
#include "bench/loadgen/stats.h"
#include "bench/loadgen/worker_thread.h"

namespace wsd::loadgen {

// Set by SIGINT/SIGTERM: the run stops waiting and closes cleanly.
extern std::atomic<bool> g_interrupted;

struct Snapshot {
  uint64_t t_ns = 0;
  Totals totals;
  ProcSample server;
  uint64_t client_cpu_us = 0;
  MachineCpu machine;
};

// Differences between two snapshots, per second or per event.
struct Interval {
  double seconds = 0;
  Totals delta;
  double server_cpu_us = 0;
  double client_cpu_us = 0;
  // Shares of all cores' time in the interval, in percent.
  double steal_pct = 0;
  double idle_pct = 0;
  Interval(const Snapshot& a, const Snapshot& b);
};

class Runner {
 public:
  // `publisher`: the first connection of thread 0 is the broadcast publisher
  // (in addition to options.connections).
  Runner(const Options& options, Mode& mode, bool publisher);
  ~Runner();

  // Resolves the target; false with `error` set when it cannot.
  bool prepare(std::string& error);
  void start();
  // Returns when every connection has opened or failed, or when none has for
  // --timeout seconds. Prints progress for large counts.
  void wait_connected();
  void set_phase(Phase p);
  // Sleeps, unless interrupted. Returns false when interrupted.
  bool sleep_for(double seconds);
  Snapshot snapshot() const;
  ProcSample sample_server() const;
  // Close handshake on every connection, waits for the replies (at most
  // `seconds`), stops and joins the workers.
  void close_and_join(double seconds);
  // The traffic part of echo and broadcast: warm-up, the counted period
  // between two snapshots, Stop, `drain_s` for what is in flight, close.
  std::pair<Snapshot, Snapshot> measure(double warmup_s, double duration_s, double drain_s);

  Totals totals() const;
  uint32_t total_connections() const { return total_; }
  bool measures_server() const { return !options_.server_pids.empty(); }
  // All threads' latencies; valid after close_and_join().
  Histogram merged_histogram() const;
  // Writes --slow-log, if asked for; valid after close_and_join().
  bool write_slow_log(std::string& error) const;
  double connect_seconds() const { return connect_seconds_; }
  const RunContext& context() const { return run_; }

 private:
  void wake_all();

  const Options& options_;
  RunContext run_;
  bool publisher_;
  uint32_t total_ = 0;
  double connect_seconds_ = 0;
  std::vector<std::unique_ptr<WorkerThread>> workers_;
};

}  // namespace wsd::loadgen
