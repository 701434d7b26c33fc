// Idle mode: open --connections connections at the paced rate, hold them
// without traffic, close each with 1000. The server's RSS (all its
// processes) before the first connection and at the end of the hold gives
// its memory per idle connection.
#include <cstdio>

#include "bench/loadgen/connection.h"
#include "bench/loadgen/modes.h"
#include "bench/loadgen/report.h"
#include "bench/loadgen/runner.h"
#include "bench/loadgen/worker_thread.h"

namespace wsd::loadgen {

namespace {

class IdleMode final : public Mode {
 public:
  void on_message(WorkerThread& w, Connection&, core::Opcode, const uint8_t*, size_t) override {
    w.stats().error(ErrorKind::Unexpected);
  }
};

void print_memory(const Runner& r, const ProcSample& before, const ProcSample& after,
                  uint64_t opened, double& per_conn) {
  per_conn = 0;
  if (!r.measures_server()) {
    std::printf("  server rss  not measured (give --server-pid)\n");
    return;
  }
  const double delta_kb = static_cast<double>(after.rss_kb) - static_cast<double>(before.rss_kb);
  if (opened) per_conn = delta_kb * 1024.0 / static_cast<double>(opened);
  std::printf("  server rss  %llu kB before, %llu kB after (%u processes): %.0f bytes per connection\n",
              static_cast<unsigned long long>(before.rss_kb),
              static_cast<unsigned long long>(after.rss_kb), after.processes, per_conn);
}

void add_result(ResultLine& line, const Runner& r, const ProcSample& before, const Interval& iv,
                const Snapshot& b, double per_conn) {
  if (r.measures_server()) {
    line.add("rss_before_kb", before.rss_kb).add("rss_after_kb", b.server.rss_kb)
        .add("bytes_per_conn", per_conn, 0)
        .add("server_idle_cpu_ms_per_sec", iv.server_cpu_us / 1000.0 / iv.seconds, 1);
  } else {
    line.add_na("rss_before_kb").add_na("rss_after_kb").add_na("bytes_per_conn")
        .add_na("server_idle_cpu_ms_per_sec");
  }
}

int report(const Options& o, const Runner& r, const ProcSample& before, const Snapshot& a,
           const Snapshot& b) {
  const Interval iv(a, b);
  const Totals all = r.totals();
  double per_conn = 0;
  std::printf("  held        %.1f s; %llu still open at the end\n", iv.seconds,
              static_cast<unsigned long long>(b.totals.live));
  print_memory(r, before, b.server, a.totals.opened, per_conn);
  if (r.measures_server()) {
    std::printf("  server cpu  %.1f ms/s while holding\n", iv.server_cpu_us / 1000.0 / iv.seconds);
  }
  std::printf("  closed      %llu with a close handshake\n",
              static_cast<unsigned long long>(all.closed_clean));
  print_errors(all);

  ResultLine line("idle");
  line.add("connections", uint64_t{o.connections}).add("opened", a.totals.opened)
      .add("failed", a.totals.failed).add("connect_sec", r.connect_seconds(), 2)
      .add("held", b.totals.live);
  add_result(line, r, before, iv, b, per_conn);
  line.add("closed_clean", all.closed_clean).add("errors", all.error_total());
  line.print();
  return all.error_total() ? 3 : 0;
}

}  // namespace

int run_idle(const Options& o) {
  IdleMode mode;
  Runner r(o, mode, false);
  std::printf("wsd-loadgen idle: %s  %u connections, %u thread%s, at most %.0f/s\n",
              target_url(o).c_str(), o.connections, o.threads, o.threads == 1 ? "" : "s",
              o.connect_rate);
  const ProcSample before = r.sample_server();
  if (!connect_all(r, "idle", "connections", 0)) return 1;
  r.set_phase(Phase::Warmup);  // stops opening; idle has no traffic
  r.sleep_for(o.warmup_s);
  const Snapshot a = r.snapshot();
  r.sleep_for(o.duration_s);
  const Snapshot b = r.snapshot();
  r.close_and_join(5.0);
  return report(o, r, before, a, b);
}

}  // namespace wsd::loadgen
