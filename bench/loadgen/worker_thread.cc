#include "bench/loadgen/worker_thread.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

namespace wsd::loadgen {

namespace {

// Handshakes in progress at once, all threads together: keeps the server's
// accept queue (and SYN backlog) from overflowing however fast we connect.
constexpr uint32_t kMaxPendingTotal = 512;
constexpr uint64_t kTimeoutCheckNs = 100 * kNsPerMs;
constexpr int kIdleWaitMs = 100;

}  // namespace

WorkerThread::WorkerThread(RunContext& run, uint32_t index, uint32_t first, uint32_t count,
                           bool publisher)
    : run_(run),
      index_(index),
      first_(first),
      count_(count),
      has_publisher_(publisher),
      conns_(std::make_unique<Connection[]>(count)),
      rng_(0x9E3779B97F4A7C15ull * (index + 1) ^ now_ns()),
      scratch_(std::make_unique_for_overwrite<uint8_t[]>(kScratchSize)),
      slow_ns_(run.options->slow_log.empty() ? UINT64_MAX
                                             : static_cast<uint64_t>(run.options->slow_us * 1000)) {
  epfd_ = epoll_create1(EPOLL_CLOEXEC);
  wakefd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  poll_add(wakefd_, EPOLLIN, this);
  dirty_.reserve(count);
  dead_.reserve(count);
  read_again_.reserve(count);
}

WorkerThread::~WorkerThread() {
  join();
  if (wakefd_ >= 0) close(wakefd_);
  if (epfd_ >= 0) close(epfd_);
}

void WorkerThread::start() {
  thread_ = std::thread([this] { run_loop(); });
}

void WorkerThread::join() {
  if (thread_.joinable()) thread_.join();
}

void WorkerThread::wake() {
  const uint64_t one = 1;
  (void)!write(wakefd_, &one, sizeof one);
}

void WorkerThread::on_events(uint32_t) {
  uint64_t v;
  (void)!read(wakefd_, &v, sizeof v);
}

uint64_t WorkerThread::random() {
  rng_ ^= rng_ >> 12;
  rng_ ^= rng_ << 25;
  rng_ ^= rng_ >> 27;
  return rng_ * 0x2545F4914F6CDD1Dull;
}

void WorkerThread::poll_add(int fd, uint32_t events, Pollable* p) {
  epoll_event ev{};
  ev.events = events;
  ev.data.ptr = p;
  epoll_ctl(epfd_, EPOLL_CTL_ADD, fd, &ev);
}

void WorkerThread::poll_mod(int fd, uint32_t events, Pollable* p) {
  epoll_event ev{};
  ev.events = events;
  ev.data.ptr = p;
  epoll_ctl(epfd_, EPOLL_CTL_MOD, fd, &ev);
}

void WorkerThread::mark_dirty(Connection& c) {
  if (c.dirty) return;
  c.dirty = true;
  dirty_.push_back(&c);
}

void WorkerThread::mark_dead(Connection& c) { dead_.push_back(&c); }

void WorkerThread::on_open(Connection& c) {
  if (has_traffic(phase_)) mode().on_start(*this, c);
}

// ---- The loop ---------------------------------------------------------------

void WorkerThread::run_loop() {
  now_ = connect_t0_ = now_ns();
  epoll_event events[kMaxEvents];
  for (;;) {
    const Phase p = run_.phase.load(std::memory_order_acquire);
    if (p != phase_) enter_phase(p);
    if (phase_ == Phase::Exit) break;
    if (phase_ == Phase::Connect) open_due();
    const int n = epoll_wait(epfd_, events, kMaxEvents, wait_ms());
    now_ = now_ns();
    for (int i = 0; i < n; ++i) static_cast<Pollable*>(events[i].data.ptr)->on_events(events[i].events);
    read_pending();
    mode().on_iteration(*this);
    flush_dirty();
    reap_dead();
    check_timeouts();
  }
  // Whatever is still in Closing did not get its close reply in time.
  for (uint32_t i = 0; i < started_; ++i) {
    Connection& c = conns_[i];
    if (c.state() != Connection::State::Closed) {
      c.abort(c.state() == Connection::State::Closing ? ErrorKind::CloseTimeout : ErrorKind::kCount);
    }
  }
  reap_dead();
}

void WorkerThread::enter_phase(Phase p) {
  phase_ = p;
  switch (p) {
    case Phase::Warmup:
      for (uint32_t i = 0; i < started_; ++i) {
        if (conns_[i].state() == Connection::State::Open) mode().on_start(*this, conns_[i]);
      }
      break;
    case Phase::Measure:
      histogram_.clear();
      break;
    case Phase::Close:
      for (uint32_t i = 0; i < started_; ++i) {
        Connection& c = conns_[i];
        if (c.state() == Connection::State::Open) c.close_normally();
        else if (c.pending()) c.abort(ErrorKind::kCount);
      }
      flush_dirty();
      reap_dead();
      break;
    case Phase::Connect:
    case Phase::Stop:
    case Phase::Exit:
      break;
  }
}

// Starts as many connections as the rate ceiling and the pending limit allow.
void WorkerThread::open_due() {
  if (started_ == count_) return;
  const Options& o = options();
  const uint64_t done = stats_.opened.get() + stats_.failed.get();
  const uint64_t pending = started_ - done;
  const uint64_t max_pending = std::max<uint64_t>(16, kMaxPendingTotal / o.threads);
  uint64_t budget = pending < max_pending ? max_pending - pending : 0;
  if (o.connect_rate > 0) {
    const double per_thread = o.connect_rate / o.threads;
    const auto allowed = static_cast<uint64_t>(per_thread * static_cast<double>(now_ - connect_t0_) / kNsPerSec) + 1;
    budget = std::min(budget, allowed > started_ ? allowed - started_ : 0);
  }
  budget = std::min<uint64_t>(budget, count_ - started_);
  const auto& sources = run_.sources;
  for (uint64_t i = 0; i < budget; ++i, ++started_) {
    const uint32_t global = first_ + started_;
    const auto role = has_publisher_ && started_ == 0 ? Connection::Role::Publisher : Connection::Role::Client;
    const sockaddr_in* src = sources.empty() ? nullptr : &sources[global % sources.size()];
    conns_[started_].start(*this, role, role == Connection::Role::Publisher ? run_.publish_dst : run_.dst, src);
  }
  flush_dirty();
  reap_dead();
}

int WorkerThread::wait_ms() {
  if (!read_again_.empty()) return 0;
  if (phase_ == Phase::Connect && started_ < count_) return 1;  // pacing
  const int mode_limit = mode().wait_limit_ms(*this);
  return mode_limit >= 0 ? std::min(mode_limit, kIdleWaitMs) : kIdleWaitMs;
}

void WorkerThread::read_pending() {
  if (read_again_.empty()) return;
  reading_.swap(read_again_);   // a connection may ask again while served
  for (Connection* c : reading_) {
    if (c->state() == Connection::State::Open || c->state() == Connection::State::Closing) c->on_events(EPOLLIN);
  }
  reading_.clear();
}

void WorkerThread::flush_dirty() {
  for (Connection* c : dirty_) {
    c->dirty = false;
    if (c->state() != Connection::State::Closed) c->flush();
  }
  dirty_.clear();
}

void WorkerThread::reap_dead() {
  for (Connection* c : dead_) c->finish();
  dead_.clear();
}

// Connects and handshakes that take longer than --timeout fail.
void WorkerThread::check_timeouts() {
  if (now_ - last_timeout_check_ < kTimeoutCheckNs) return;
  last_timeout_check_ = now_;
  if (started_ == stats_.opened.get() + stats_.failed.get()) return;
  const auto limit = static_cast<uint64_t>(options().timeout_s * kNsPerSec);
  for (uint32_t i = 0; i < started_; ++i) {
    Connection& c = conns_[i];
    if (c.pending() && now_ - c.started_ns() > limit) c.abort(ErrorKind::Timeout);
  }
  reap_dead();
}

}  // namespace wsd::loadgen
