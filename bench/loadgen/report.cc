#include "bench/loadgen/report.h"

#include <cstdio>

namespace wsd::loadgen {

double us(uint64_t ns) { return static_cast<double>(ns) / 1000.0; }

ResultLine::ResultLine(const char* mode) : line_(std::string("RESULT mode=") + mode) {}

ResultLine& ResultLine::add(const char* key, uint64_t value) {
  line_.append(" ").append(key).append("=").append(std::to_string(value));
  return *this;
}

ResultLine& ResultLine::add(const char* key, double value, int decimals) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, value);
  line_.append(" ").append(key).append("=").append(buf);
  return *this;
}

ResultLine& ResultLine::add_na(const char* key) {
  line_.append(" ").append(key).append("=na");
  return *this;
}

void ResultLine::print() const {
  std::printf("%s\n", line_.c_str());
  std::fflush(stdout);
}

std::string target_url(const Options& o) {
  return "ws://" + o.host + ":" + std::to_string(o.port) + o.path;
}

void print_latency(const char* label, const Histogram& h) {
  if (h.count() == 0) {
    std::printf("  %-11s none recorded\n", label);
    return;
  }
  std::printf("  %-11s p50 %.1f  p99 %.1f  p99.9 %.1f  max %.1f  mean %.1f us  (%llu samples)\n",
              label, us(h.percentile(0.50)), us(h.percentile(0.99)), us(h.percentile(0.999)),
              us(h.max()), h.mean() / 1000.0, static_cast<unsigned long long>(h.count()));
}

void print_cpu(const Runner& r, const Interval& iv, const ProcSample& server, uint64_t events,
               const char* per) {
  const double n = events ? static_cast<double>(events) : 1.0;
  if (r.measures_server()) {
    std::printf("  server cpu  %.3f us/%s  (%.0f%% of one core, %u processes)\n",
                iv.server_cpu_us / n, per, iv.server_cpu_us / (iv.seconds * 1e4),
                server.processes);
  } else {
    std::printf("  server cpu  not measured (give --server-pid)\n");
  }
  std::printf("  client cpu  %.3f us/%s  (%.0f%% of one core)\n", iv.client_cpu_us / n, per,
              iv.client_cpu_us / (iv.seconds * 1e4));
  std::printf("  machine     %.1f%% idle, %.1f%% stolen by the hypervisor (of all cores' time)\n",
              iv.idle_pct, iv.steal_pct);
}

void print_errors(const Totals& t) {
  std::printf("  errors      %llu", static_cast<unsigned long long>(t.error_total()));
  for (size_t i = 0; i < kErrorKinds; ++i) {
    if (t.errors[i]) {
      std::printf("  %s=%llu", error_name(static_cast<ErrorKind>(i)),
                  static_cast<unsigned long long>(t.errors[i]));
    }
  }
  std::printf("\n");
}

void add_latency(ResultLine& line, const Histogram& h) {
  line.add("p50_us", us(h.percentile(0.50)), 1)
      .add("p99_us", us(h.percentile(0.99)), 1)
      .add("p999_us", us(h.percentile(0.999)), 1)
      .add("max_us", us(h.max()), 1);
}

void add_cpu(ResultLine& line, const Runner& r, const Interval& iv, uint64_t events,
             const char* server_key, const char* client_key) {
  const double n = events ? static_cast<double>(events) : 1.0;
  const double pct = iv.seconds * 1e4;  // us of CPU per 1% of one core
  if (r.measures_server()) {
    line.add(server_key, iv.server_cpu_us / n, 3).add("server_cpu_pct", iv.server_cpu_us / pct, 0);
  } else {
    line.add_na(server_key).add_na("server_cpu_pct");
  }
  line.add(client_key, iv.client_cpu_us / n, 3).add("client_cpu_pct", iv.client_cpu_us / pct, 0);
  line.add("idle_pct", iv.idle_pct, 1).add("steal_pct", iv.steal_pct, 1);
}

bool connect_all(Runner& r, const char* mode, const char* what, uint64_t extra) {
  std::string error;
  if (!r.prepare(error)) {
    std::fprintf(stderr, "wsd-loadgen: %s\n", error.c_str());
    return false;
  }
  r.start();
  r.wait_connected();
  const Totals t = r.totals();
  const uint64_t opened = t.opened > extra ? t.opened - extra : 0;
  std::printf("  connected   %llu %s of %llu in %.2f s (%llu failed)\n",
              static_cast<unsigned long long>(opened), what,
              static_cast<unsigned long long>(r.total_connections() - extra), r.connect_seconds(),
              static_cast<unsigned long long>(t.failed));
  std::fflush(stdout);   // bench/idle-split.sh watches for this line
  if (t.opened > 0) return true;
  std::printf("  no connection opened: is the server listening at %s?\n",
              target_url(*r.context().options).c_str());
  r.close_and_join(0);
  const Totals end = r.totals();
  print_errors(end);
  ResultLine(mode).add("opened", uint64_t{0}).add("failed", end.failed).add("errors", end.error_total()).print();
  return false;
}

}  // namespace wsd::loadgen
