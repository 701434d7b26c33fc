// Echo mode: every connection keeps --depth messages of --size bytes in
// flight; each echo is checked (type, size, sequence number, content), its
// round trip recorded, and answered with the next message.
#include <cstdio>
#include <cstring>
#include <string>

#include "bench/loadgen/connection.h"
#include "bench/loadgen/modes.h"
#include "bench/loadgen/payload.h"
#include "bench/loadgen/report.h"
#include "bench/loadgen/runner.h"
#include "bench/loadgen/worker_thread.h"

namespace wsd::loadgen {

namespace {

class EchoMode final : public Mode {
 public:
  explicit EchoMode(const Options& o)
      : opcode_(o.binary ? core::Opcode::Binary : core::Opcode::Text),
        depth_(o.depth),
        payload_(o.size) {}

  void on_start(WorkerThread& w, Connection& c) override {
    // A random first sequence number per connection: a message delivered to
    // the wrong connection is then out of sequence there.
    c.next_send = c.next_recv = static_cast<uint32_t>(w.random());
    for (uint32_t i = 0; i < depth_; ++i) send_one(w, c);
  }

  // An echo is ours when its sequence number is among those in flight on
  // this connection: the next one expected, or a later one (the ones
  // skipped are lost). Anything else (another connection's message, a
  // duplicate) is out of order and does not move the window.
  void on_message(WorkerThread& w, Connection& c, core::Opcode op, const uint8_t* data,
                  size_t len) override {
    ThreadStats& s = w.stats();
    s.recv_msgs.add();
    s.recv_bytes.add(len);
    uint32_t seq = 0;
    uint64_t sent = 0;
    const bool intact = matches(op, data, len, seq, sent);
    if (!intact) {
      s.error(ErrorKind::Mismatch);
      seq = static_cast<uint32_t>(c.next_recv);  // most likely ours, damaged
    }
    const uint32_t ahead = seq - static_cast<uint32_t>(c.next_recv);
    if (ahead >= c.next_send - c.next_recv) return s.error(ErrorKind::Order);
    if (ahead) s.error(ErrorKind::Lost, ahead);
    if (intact) w.record_round_trip((w.now() - sent) & kEchoTimeMask, c);
    c.next_recv += ahead + 1u;
    if (!has_traffic(w.phase())) return;
    for (uint32_t i = 0; i <= ahead; ++i) send_one(w, c);  // keep --depth in flight
  }

 private:
  bool matches(core::Opcode op, const uint8_t* data, size_t len, uint32_t& seq,
               uint64_t& sent) const {
    const size_t size = payload_.size();
    return op == opcode_ && len == size && read_echo_stamp(data, len, seq, sent) &&
           std::memcmp(data + kEchoStampSize, payload_.data() + kEchoStampSize,
                       size - kEchoStampSize) == 0;
  }

  void send_one(WorkerThread&, Connection& c) {
    const size_t size = payload_.size();
    uint8_t* p = c.begin_message(opcode_, size);
    std::memcpy(p + kEchoStampSize, payload_.data() + kEchoStampSize, size - kEchoStampSize);
    write_echo_stamp(p, static_cast<uint32_t>(c.next_send++), now_ns());
    c.commit_message(p, size);
  }

  const core::Opcode opcode_;
  const uint32_t depth_;
  const PayloadTemplate payload_;
};

void print_header(const Options& o) {
  std::printf("wsd-loadgen echo: %s  %u connections x depth %u, %u B %s, %u thread%s\n",
              target_url(o).c_str(), o.connections, o.depth, o.size,
              o.binary ? "binary" : "text", o.threads, o.threads == 1 ? "" : "s");
}

int report(const Options& o, const Runner& r, const Snapshot& a, const Snapshot& b) {
  const Interval iv(a, b);
  const Histogram h = r.merged_histogram();
  const Totals all = r.totals();
  const uint64_t msgs = iv.delta.recv_msgs;
  const double rate = static_cast<double>(msgs) / iv.seconds;
  const double mb = static_cast<double>(iv.delta.recv_bytes) / iv.seconds / 1e6;
  std::printf("  measured    %.2f s after %.1f s of warm-up\n", iv.seconds, o.warmup_s);
  std::printf("  messages    %.0f /s  (%llu echoes)\n", rate, static_cast<unsigned long long>(msgs));
  std::printf("  throughput  %.2f MB/s of payload, each way\n", mb);
  print_latency("round trip", h);
  print_cpu(r, iv, b.server, msgs, "msg");
  print_errors(all);

  ResultLine line("echo");
  line.add("connections", uint64_t{o.connections}).add("depth", uint64_t{o.depth})
      .add("size", uint64_t{o.size}).add("binary", uint64_t{o.binary})
      .add("threads", uint64_t{o.threads}).add("opened", a.totals.opened)
      .add("msgs_per_sec", rate, 0).add("mb_per_sec", mb, 2);
  add_latency(line, h);
  line.add("errors", all.error_total());
  add_cpu(line, r, iv, msgs, "server_cpu_us_per_msg", "client_cpu_us_per_msg");
  line.print();
  return all.error_total() ? 3 : 0;
}

}  // namespace

int run_echo(const Options& o) {
  EchoMode mode(o);
  Runner r(o, mode, false);
  print_header(o);
  if (!connect_all(r, "echo", "connections", 0)) return 1;
  const auto [a, b] = r.measure(o.warmup_s, o.duration_s, 0);
  std::string error;
  if (!r.write_slow_log(error)) std::fprintf(stderr, "wsd-loadgen: --slow-log: %s\n", error.c_str());
  return report(o, r, a, b);
}

}  // namespace wsd::loadgen
