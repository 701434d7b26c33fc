#include "bench/loadgen/runner.h"

#include <cstdio>
#include <thread>

#include "bench/loadgen/clock.h"
#include "bench/loadgen/net.h"

namespace wsd::loadgen {

std::atomic<bool> g_interrupted{false};

namespace {
constexpr auto kPollInterval = std::chrono::milliseconds(10);
}

Interval::Interval(const Snapshot& a, const Snapshot& b)
    : seconds(static_cast<double>(b.t_ns - a.t_ns) / kNsPerSec),
      delta(b.totals - a.totals),
      server_cpu_us(static_cast<double>(b.server.cpu_us) - static_cast<double>(a.server.cpu_us)),
      client_cpu_us(static_cast<double>(b.client_cpu_us) - static_cast<double>(a.client_cpu_us)) {
  const double ticks = static_cast<double>(b.machine.total - a.machine.total);
  if (ticks > 0) {
    steal_pct = 100.0 * static_cast<double>(b.machine.steal - a.machine.steal) / ticks;
    idle_pct = 100.0 * static_cast<double>(b.machine.idle - a.machine.idle) / ticks;
  }
}

Runner::Runner(const Options& options, Mode& mode, bool publisher)
    : options_(options), publisher_(publisher) {
  run_.options = &options_;
  run_.mode = &mode;
}

Runner::~Runner() {
  if (!workers_.empty()) {
    set_phase(Phase::Exit);
    for (auto& w : workers_) w->join();
  }
}

bool Runner::prepare(std::string& error) {
  if (!resolve_ipv4(options_.host, options_.port, run_.dst, error)) return false;
  uint16_t pub = options_.publish_port ? options_.publish_port : options_.port;
  if (!resolve_ipv4(options_.host, pub, run_.publish_dst, error)) return false;
  run_.sources = loopback_sources(options_.source_addrs);
  run_.host_header = options_.host + ":" + std::to_string(options_.port);
  return true;
}

// Connections are split evenly; thread 0 takes the remainder and the publisher.
void Runner::start() {
  const uint32_t t = options_.threads;
  const uint32_t share = options_.connections / t;
  uint32_t first = 0;
  for (uint32_t i = 0; i < t; ++i) {
    uint32_t count = share + (i == 0 ? options_.connections % t : 0);
    const bool pub = publisher_ && i == 0;
    if (pub) ++count;
    workers_.push_back(std::make_unique<WorkerThread>(run_, i, first, count, pub));
    first += count;
  }
  total_ = first;
  for (auto& w : workers_) w->start();
}

void Runner::wait_connected() {
  const uint64_t t0 = now_ns();
  uint64_t last_progress = t0, last_print = t0, last_done = 0;
  const auto stall = static_cast<uint64_t>(options_.timeout_s * kNsPerSec) + kNsPerSec;
  for (;;) {
    const Totals t = totals();
    const uint64_t done = t.opened + t.failed;
    const uint64_t now = now_ns();
    if (done != last_done) last_progress = now, last_done = done;
    if (done >= total_ || now - last_progress > stall || g_interrupted) break;
    if (total_ >= 5000 && now - last_print > kNsPerSec) {
      std::printf("  connecting: %llu open, %llu failed of %u\n",
                  static_cast<unsigned long long>(t.opened),
                  static_cast<unsigned long long>(t.failed), total_);
      std::fflush(stdout);
      last_print = now;
    }
    std::this_thread::sleep_for(kPollInterval);
  }
  connect_seconds_ = static_cast<double>(now_ns() - t0) / kNsPerSec;
}

void Runner::set_phase(Phase p) {
  run_.phase.store(p, std::memory_order_release);
  wake_all();
}

void Runner::wake_all() {
  for (auto& w : workers_) w->wake();
}

bool Runner::sleep_for(double seconds) {
  const uint64_t end = now_ns() + static_cast<uint64_t>(seconds * kNsPerSec);
  while (!g_interrupted) {
    const uint64_t now = now_ns();
    if (now >= end) return true;
    std::this_thread::sleep_for(std::min<std::chrono::nanoseconds>(
        kPollInterval, std::chrono::nanoseconds(end - now)));
  }
  return false;
}

Totals Runner::totals() const {
  Totals t;
  for (const auto& w : workers_) t += w->stats().read();
  return t;
}

ProcSample Runner::sample_server() const { return sample_process_tree(options_.server_pids); }

Snapshot Runner::snapshot() const {
  Snapshot s;
  // The /proc scan takes a while with many processes: take the clock and the
  // counters after it, so the interval's message count and CPU match.
  s.server = sample_server();
  s.client_cpu_us = self_cpu_us();
  s.machine = sample_machine_cpu();
  s.t_ns = now_ns();
  s.totals = totals();
  return s;
}

void Runner::close_and_join(double seconds) {
  set_phase(Phase::Close);
  const uint64_t end = now_ns() + static_cast<uint64_t>(seconds * kNsPerSec);
  while (totals().live > 0 && now_ns() < end) std::this_thread::sleep_for(kPollInterval);
  set_phase(Phase::Exit);
  for (auto& w : workers_) w->join();
}

std::pair<Snapshot, Snapshot> Runner::measure(double warmup_s, double duration_s, double drain_s) {
  set_phase(Phase::Warmup);
  sleep_for(warmup_s);
  const Snapshot a = snapshot();
  set_phase(Phase::Measure);
  sleep_for(duration_s);
  const Snapshot b = snapshot();
  set_phase(Phase::Stop);
  sleep_for(drain_s);
  close_and_join(2.0);
  return {a, b};
}

bool Runner::write_slow_log(std::string& error) const {
  if (options_.slow_log.empty()) return true;
  std::vector<const SlowTrips*> threads;
  for (const auto& w : workers_) threads.push_back(&w->slow_trips());
  return write_slow_trips(options_.slow_log, threads, error);
}

Histogram Runner::merged_histogram() const {
  Histogram h;
  for (const auto& w : workers_) h.merge(w->histogram());
  return h;
}

}  // namespace wsd::loadgen
