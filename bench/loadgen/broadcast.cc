// Broadcast mode: --connections subscribers and one publisher. The publisher
// sends "pub <seq> <send_time_ns>" (over its WebSocket, or as an HTTP GET of
// --publish-url); the server fans it out; each subscriber checks the
// sequence and records now - send_time. Publishing is paced by --rate, or
// closed-loop: at most --depth broadcasts whose deliveries are incomplete.
#include <atomic>
#include <cstdio>
#include <cstring>
#include <memory>
#include <vector>

#include "bench/loadgen/connection.h"
#include "bench/loadgen/http_publisher.h"
#include "bench/loadgen/modes.h"
#include "bench/loadgen/payload.h"
#include "bench/loadgen/report.h"
#include "bench/loadgen/runner.h"
#include "bench/loadgen/worker_thread.h"

namespace wsd::loadgen {

namespace {

constexpr uint64_t kStallNs = kNsPerSec;
constexpr int kMaxBurst = 64;          // broadcasts per loop iteration at most
constexpr int kClosedLoopWaitMs = 10;  // safety net for a missed wake-up

class BroadcastMode final : public Mode {
 public:
  explicit BroadcastMode(const Options& o) : options_(o), per_thread_(o.threads) {}

  void set_subscribers(uint64_t n) { subscribers_ = n; }
  bool publisher_up() const { return publisher_up_.load(); }

  void on_start(WorkerThread&, Connection& c) override {
    if (c.role() == Connection::Role::Publisher) {
      ws_publisher_ = &c;
      publisher_up_ = true;
    }
  }

  void on_message(WorkerThread& w, Connection& c, core::Opcode, const uint8_t* data,
                  size_t len) override {
    if (c.role() == Connection::Role::Publisher) return;  // its own broadcast, if the server echoes
    ThreadStats& s = w.stats();
    uint64_t seq = 0, sent = 0;
    if (!read_broadcast({reinterpret_cast<const char*>(data), len}, seq, sent)) {
      return s.error(ErrorKind::Unexpected);
    }
    s.recv_msgs.add();
    s.recv_bytes.add(len);
    ++per_thread_[w.index()].unflushed;
    w.record_latency(w.now() > sent ? w.now() - sent : 0);
    if (seq < c.next_recv) return s.error(ErrorKind::Order);
    if (seq > c.next_recv) s.error(ErrorKind::Lost, seq - c.next_recv);
    c.next_recv = seq + 1;
  }

  void on_iteration(WorkerThread& w) override {
    if (w.index() == 0 && !publisher_thread_.load(std::memory_order_relaxed)) publisher_thread_.store(&w);
    flush_deliveries(w);
    if (w.index() == 0) pump(w);
  }

  int wait_limit_ms(WorkerThread& w) override {
    if (w.index() != 0 || !has_traffic(w.phase())) return -1;
    if (options_.publish_rate <= 0) return kClosedLoopWaitMs;
    const double next_s = static_cast<double>(published_) / options_.publish_rate;
    const double now_s = static_cast<double>(w.now() - t_first_) / kNsPerSec;
    return next_s <= now_s ? 0 : static_cast<int>((next_s - now_s) * 1000);
  }

 private:
  struct alignas(64) PerThread {
    uint64_t unflushed = 0;  // deliveries not yet added to delivered_
  };

  // Adds this thread's deliveries to the shared count, and wakes the
  // publisher when they complete what it waits for.
  void flush_deliveries(WorkerThread& w) {
    uint64_t& n = per_thread_[w.index()].unflushed;
    if (n == 0) return;
    const uint64_t before = delivered_.fetch_add(n);
    const uint64_t wait_for = wake_at_.load();
    if (w.index() != 0 && before < wait_for && before + n >= wait_for) {
      if (WorkerThread* p = publisher_thread_.load()) p->wake();
    }
    n = 0;
  }

  void pump(WorkerThread& w) {
    if (!has_traffic(w.phase())) return;
    if (t_first_ == 0) t_first_ = last_progress_ = w.now();
    for (int i = 0; i < kMaxBurst && publisher_ready(w) && may_publish(w); ++i) publish(w);
  }

  bool publisher_ready(WorkerThread& w) {
    if (!options_.publish_url.empty()) {
      if (!http_) http_ = std::make_unique<HttpPublisher>(w, options_.publish_url);
      return http_->ready();
    }
    return ws_publisher_ && ws_publisher_->state() == Connection::State::Open;
  }

  // Rate: publish what is due. Closed loop: broadcast n may go once
  // broadcast n - depth is complete, i.e. once (n - depth + 1) x subscribers
  // deliveries were counted (an approximation when subscribers are unequal).
  bool may_publish(WorkerThread& w) {
    if (options_.publish_rate > 0) {
      const double due = options_.publish_rate * static_cast<double>(w.now() - t_first_) / kNsPerSec;
      return static_cast<double>(published_) < due + 1;
    }
    if (published_ < options_.depth) return true;
    const uint64_t need = (published_ - options_.depth + 1) * subscribers_;
    const uint64_t have = delivered_.load();
    if (have >= need) return true;
    wake_at_.store(need);
    if (delivered_.load() >= need) return true;  // counted while we set wake_at_
    if (have != last_delivered_) last_delivered_ = have, last_progress_ = w.now();
    if (w.now() - last_progress_ < kStallNs) return false;
    w.stats().error(ErrorKind::Stall);
    last_progress_ = w.now();
    return true;
  }

  void publish(WorkerThread& w) {
    std::string& buf = w.text_scratch();
    if (buf.size() < options_.size + kBroadcastMaxHeader) buf.resize(options_.size + kBroadcastMaxHeader);
    const size_t len = write_broadcast(buf.data(), options_.size, published_++, now_ns());
    if (http_) return http_->publish({buf.data(), len});
    uint8_t* p = ws_publisher_->begin_message(core::Opcode::Text, len);
    std::memcpy(p, buf.data(), len);
    ws_publisher_->commit_message(p, len);
  }

  const Options& options_;
  std::vector<PerThread> per_thread_;
  alignas(64) std::atomic<uint64_t> delivered_{0};
  std::atomic<uint64_t> wake_at_{~uint64_t{0}};
  alignas(64) std::atomic<WorkerThread*> publisher_thread_{nullptr};
  std::atomic<bool> publisher_up_{false};
  uint64_t subscribers_ = 0;
  // Thread 0 only.
  Connection* ws_publisher_ = nullptr;
  std::unique_ptr<HttpPublisher> http_;
  uint64_t published_ = 0;
  uint64_t t_first_ = 0;
  uint64_t last_progress_ = 0;
  uint64_t last_delivered_ = 0;
};

void print_header(const Options& o) {
  const bool ws = o.publish_url.empty();
  const std::string pacing = o.publish_rate > 0 ? std::to_string(o.publish_rate) + " broadcasts/s"
                                                : "closed loop, window " + std::to_string(o.depth);
  std::printf("wsd-loadgen broadcast: %s  %u subscribers, publisher %s%s, %s, %u B, %u thread%s\n",
              target_url(o).c_str(), o.connections, ws ? "on a WebSocket" : "GET ",
              ws ? "" : o.publish_url.c_str(), pacing.c_str(), o.size, o.threads,
              o.threads == 1 ? "" : "s");
}

int report(const Options& o, const Runner& r, uint64_t subscribers, const Snapshot& a,
           const Snapshot& b) {
  const Interval iv(a, b);
  const Histogram h = r.merged_histogram();
  const Totals all = r.totals();
  const uint64_t deliveries = iv.delta.recv_msgs;
  const double published_rate = static_cast<double>(iv.delta.sent_msgs) / iv.seconds;
  const double rate = static_cast<double>(deliveries) / iv.seconds;
  std::printf("  measured    %.2f s after %.1f s of warm-up\n", iv.seconds, o.warmup_s);
  std::printf("  published   %.0f /s\n", published_rate);
  std::printf("  deliveries  %.0f /s  (%llu)\n", rate, static_cast<unsigned long long>(deliveries));
  print_latency("fan-out", h);
  print_cpu(r, iv, b.server, deliveries, "delivery");
  print_errors(all);

  ResultLine line("broadcast");
  line.add("subscribers", subscribers).add("size", uint64_t{o.size})
      .add("threads", uint64_t{o.threads}).add("published_per_sec", published_rate, 0)
      .add("deliveries_per_sec", rate, 0);
  add_latency(line, h);
  line.add("errors", all.error_total());
  add_cpu(line, r, iv, deliveries, "server_cpu_us_per_delivery", "client_cpu_us_per_delivery");
  line.print();
  return all.error_total() ? 3 : 0;
}

}  // namespace

int run_broadcast(const Options& o) {
  BroadcastMode mode(o);
  const bool ws = o.publish_url.empty();
  Runner r(o, mode, ws);
  print_header(o);
  if (!connect_all(r, "broadcast", "subscribers", ws ? 1 : 0)) return 1;
  const uint64_t opened = r.totals().opened;
  const uint64_t subscribers = ws && opened ? opened - 1 : opened;
  mode.set_subscribers(subscribers);
  // In flight at the end: 0.2 s to arrive (not counted, but not "lost").
  const auto [a, b] = r.measure(o.warmup_s, o.duration_s, 0.2);
  if (ws && !mode.publisher_up()) std::printf("  publisher   did not connect\n");
  return report(o, r, subscribers, a, b);
}

}  // namespace wsd::loadgen
