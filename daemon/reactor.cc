#include "daemon/reactor.h"

#include <spdlog/spdlog.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include <cstring>

#include "daemon/listen_socket.h"
#include "wsd/plugin.h"

namespace wsd::daemon {

namespace {
// One per reactor, not per connection: large enough that a 64 KiB message
// and its frame header usually arrive in one read, and are then delivered
// from here without being copied into a reassembly buffer.
constexpr size_t kReadBufferSize = 256 * 1024;
}

Reactor::Reactor(int index, const Settings& settings, SessionTable& sessions, Routes& routes,
                 Connection** by_slot, std::vector<int> worker_fds)
    : index_(index), settings_(settings), sessions_(sessions), routes_(routes), by_slot_(by_slot),
      read_buffer_(kReadBufferSize) {
  base_ = event_base_new();
  init_loop();
  workers_.resize(worker_fds.size());
  for (size_t w = 0; w < worker_fds.size(); ++w) {
    workers_[w].channel = worker_channel(worker_fds[w]);
    workers_[w].ev = event_new(base_, worker_fds[w], EV_READ | EV_PERSIST, &Reactor::on_channel_event, this);
    event_add(workers_[w].ev, nullptr);
  }
}

Reactor::Reactor(int index, const Settings& settings, SessionTable& sessions, Routes& routes,
                 Connection** by_slot, struct event_base* base, LocalDelivery* local, uint16_t local_worker)
    : index_(index), settings_(settings), sessions_(sessions), routes_(routes), by_slot_(by_slot),
      base_(base), owns_base_(false), local_(local), local_worker_(local_worker),
      read_buffer_(kReadBufferSize) {
  init_loop();
}

// The channel's bound: one message of package_max_length plus its framing.
// Large payloads go through a shared ring (one copy instead of two through
// the kernel).
std::unique_ptr<ipc::Channel> Reactor::worker_channel(int fd) const {
  return std::make_unique<ipc::Channel>(fd, settings_.package_max_length + 64 * 1024, ipc::kLargePayloadRing);
}

// The wake-up event (hand-overs and stop requests), the once-a-second tick
// and the client sockets' epoll set.
void Reactor::init_loop() {
  epoch_ = now();
  init_client_poll();
  wake_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  wake_ev_ = event_new(base_, wake_fd_, EV_READ | EV_PERSIST, [](evutil_socket_t fd, short, void* arg) {
    uint64_t v;
    [[maybe_unused]] ssize_t n = read(fd, &v, sizeof v);
    static_cast<Reactor*>(arg)->take_inbox();
  }, this);
  event_add(wake_ev_, nullptr);
  tick_ev_ = event_new(base_, -1, EV_PERSIST, &Reactor::on_tick, this);
  // Once a second, or at the heartbeat interval when that is shorter.
  double tick = 1.0;
  if (settings_.heartbeat_interval > 0 && settings_.heartbeat_interval < tick) tick = settings_.heartbeat_interval;
  if (tick < 0.01) tick = 0.01;
  timeval every{static_cast<time_t>(tick), static_cast<suseconds_t>((tick - static_cast<double>(static_cast<time_t>(tick))) * 1e6)};
  event_add(tick_ev_, &every);
}

Reactor::~Reactor() {
  for (Connection* c : connections_) {
    close(c->fd);
    sessions_.release(c->id);
    slab_.destroy(c);
  }
  for (WorkerLink& w : workers_) event_free(w.ev);
  for (ListenEvent& l : listeners_) event_free(l.ev);
  event_free(tick_ev_);
  event_free(wake_ev_);
  close(wake_fd_);
  event_free(clients_ev_);
  close(client_epfd_);
  if (owns_base_) event_base_free(base_);
}

void Reactor::start() {
  thread_ = std::thread([this] { run(); });
}

void Reactor::join() {
  if (thread_.joinable()) thread_.join();
}

void Reactor::adopt(const Accepted& a) {
  {
    std::lock_guard lock(inbox_mutex_);
    inbox_.push_back(a);
  }
  uint64_t one = 1;
  [[maybe_unused]] ssize_t n = write(wake_fd_, &one, sizeof one);
}

void Reactor::adopt_worker(int w, int fd) {
  {
    std::lock_guard lock(inbox_mutex_);
    new_channels_.push_back({w, fd, false});
  }
  uint64_t one = 1;
  [[maybe_unused]] ssize_t n = write(wake_fd_, &one, sizeof one);
}

void Reactor::retire_worker(int w, int fd) {
  retiring_count_++;
  {
    std::lock_guard lock(inbox_mutex_);
    new_channels_.push_back({w, fd, true});
  }
  uint64_t one = 1;
  [[maybe_unused]] ssize_t n = write(wake_fd_, &one, sizeof one);
}

void Reactor::install_channel(int w, int fd) {
  WorkerLink& link = workers_[w];
  size_t dropped = 0;
  std::string unsent = link.channel->take_unsent(dropped);
  uint64_t unsent_count = 0;
  for (size_t at = 0; at + ipc::kHeaderSize <= unsent.size(); ++unsent_count) {
    ipc::MessageHeader h;
    std::memcpy(&h, unsent.data() + at, ipc::kHeaderSize);
    at += h.size;
  }
  uint64_t lost = link.inflight > unsent_count ? link.inflight - unsent_count : 0;
  stats_->lost_events.add(lost);
  if (lost > 0) spdlog::warn("[reactor {}] worker {} died with {} event(s) unfinished", index_, w, lost);
  event_free(link.ev);
  link.channel = worker_channel(fd);
  link.channel->prepend_pending(unsent);
  link.inflight = unsent_count;
  link.fresh_batch = false;
  link.timing.forget();
  link.alive = true;
  link.want_write = false;
  link.dirty = true;   // flushed after this iteration; resumes paused connections once drained
  link.ev = event_new(base_, fd, EV_READ | EV_PERSIST, &Reactor::on_channel_event, this);
  event_add(link.ev, nullptr);
}

void Reactor::start_retirement(int w, int fd) {
  WorkerLink& link = workers_[w];
  if (link.retiring) finish_retirement(w);  // a second reload overtook the first
  link.retiring = std::move(link.channel);
  link.retiring_ev = link.ev;
  link.retiring_write_closed = false;
  link.timing.forget();
  link.channel = worker_channel(fd);
  link.ev = event_new(base_, fd, EV_READ | EV_PERSIST, &Reactor::on_channel_event, this);
  event_add(link.ev, nullptr);
  link.want_write = false;
  link.dirty = true;
}

// The old worker read everything and exited (EOF): its successor takes over.
void Reactor::finish_retirement(int w) {
  WorkerLink& link = workers_[w];
  event_free(link.retiring_ev);
  link.retiring_ev = nullptr;
  link.retiring.reset();
  link.inflight = 0;
  link.fresh_batch = false;
  link.timing.forget();
  link.alive = true;
  link.dirty = true;
  retiring_count_--;
}

void Reactor::read_retiring(int w) {
  WorkerLink& link = workers_[w];
  ipc::Channel::IoResult r = link.retiring->read_messages(
      [&](const ipc::MessageHeader& h, std::string_view payload) { on_channel_message(w, h, payload); });
  if (r == ipc::Channel::IoResult::Closed || r == ipc::Channel::IoResult::Error) finish_retirement(w);
}

void Reactor::request_stop() {
  stop_requested_ = true;
  uint64_t one = 1;
  [[maybe_unused]] ssize_t n = write(wake_fd_, &one, sizeof one);
}

// One loop iteration at a time, so that everything written during it leaves
// in one write per socket afterwards.
void Reactor::run() {
  do {
    event_base_loop(base_, EVLOOP_ONCE);
    client_pass();
    after_iteration();
  } while (!stop_complete());
  flush_channels_before_exit();
}

bool Reactor::stop_complete() {
  if (!stopping_) return false;
  if (connections_.empty()) return true;
  if (now() <= stop_deadline_) return false;
  // Whoever is left is cut off, through destroy() so that the plugin still
  // gets each close event; after_iteration() queues and frees them.
  for (Connection* c : std::vector<Connection*>(connections_)) destroy(*c);
  after_iteration();
  return true;
}

void Reactor::listen(int fd, uint16_t port, uint8_t listener) {
  ListenEvent l{event_new(base_, fd, EV_READ | EV_PERSIST, &Reactor::on_accept, this), port, listener};
  event_add(l.ev, nullptr);
  listeners_.push_back(l);
}

void Reactor::on_accept(evutil_socket_t fd, short, void* arg) {
  auto* self = static_cast<Reactor*>(arg);
  if (self->stopping_) return;
  uint16_t port = 0;
  uint8_t listener = 0;
  for (const ListenEvent& l : self->listeners_) {
    if (event_get_fd(l.ev) != fd) continue;
    port = l.port;
    listener = l.listener;
  }
  for (int i = 0; i < 64; ++i) {
    Accepted a{};
    int cfd = accept_client(fd, &a.peer);
    if (cfd < 0) {
      // EAGAIN: another worker took it, or nothing left. Out of descriptors:
      // one connection was shed (not to spin on a readable listener).
      if (errno == EMFILE) self->connection_shed();
      return;
    }
    int one = 1;
    setsockopt(cfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    a.fd = cfd;
    a.server_port = port;
    a.listener = listener;
    self->open_connection(a);
  }
}

// BASE mode, out of descriptors: accept_client closed a connection at once.
// Counted as refused; logged at most once a second.
void Reactor::connection_shed() {
  stats_->refused.add();
  shed_++;
  double t = now();
  if (t - last_shed_log_ >= 1.0) {
    last_shed_log_ = t;
    spdlog::error("[reactor {}] accept: out of file descriptors: new connections are closed at once ({} so far); "
                  "raise LimitNOFILE (systemd) or ulimit -n, or lower max_connection",
                  index_, shed_);
  }
}

// The last close events must reach the workers before the channels close:
// wait (bounded) for each channel to take what is queued.
void Reactor::flush_channels_before_exit() {
  for (int round = 0; round < 20; ++round) {
    std::vector<pollfd> waiting;
    for (WorkerLink& w : workers_) {
      if (w.alive && w.channel->pending() > 0 && w.channel->flush() == ipc::Channel::IoResult::WouldBlock)
        waiting.push_back({w.channel->fd(), POLLOUT, 0});
    }
    if (waiting.empty()) return;
    poll(waiting.data(), waiting.size(), 100);
  }
}

void Reactor::after_iteration() {
  replay_stashed();
  if (!local_) {
    // PROCESS mode: the iteration's events to the workers, and their answers
    // back, so that they leave with the writes below (dispatch.cc).
    flush_channels();
    send_in_arrival_order(collect_answers());
  }
  // By index: in BASE mode a plugin's close event, run from write_now's
  // destroy(), may push and so append to dirty_ while we walk it.
  for (size_t i = 0; i < dirty_.size(); ++i) {
    Connection* c = dirty_[i];
    c->dirty = false;
    if (!c->doomed) write_now(*c);
  }
  dirty_.clear();
  shared_frames_.reset();  // every span was written or copied above
  // The next iteration without blocking: bytes left unread, or held for
  // replay behind an answer that came in collect_answers, after the replay
  // at the top.
  if (!read_again_.empty() || !replays_.empty()) event_active(clients_ev_, EV_READ, 0);
  flush_channels();  // close events of connections the writes ended, and the like
  free_doomed();
}

void Reactor::replay_stashed() {
  std::vector<uint64_t> ids;
  ids.swap(replays_);
  for (uint64_t id : ids) {
    Connection* c = find(id);
    if (!c || !c->extra || c->extra->stash.empty()) continue;
    std::string bytes = std::move(c->extra->stash);
    c->extra->stash.clear();
    feed(*c, reinterpret_cast<uint8_t*>(bytes.data()), bytes.size());
    if (!c->doomed) trim_extra(*c);
  }
}

void Reactor::take_inbox() {
  std::vector<Accepted> batch;
  std::vector<NewChannel> channels;
  std::vector<ClusterItem> from_cluster;
  {
    std::lock_guard lock(inbox_mutex_);
    batch.swap(inbox_);
    channels.swap(new_channels_);
    from_cluster.swap(cluster_inbox_);
  }
  if (!from_cluster.empty()) run_cluster_items(from_cluster);
  for (const NewChannel& nc : channels) {
    if (nc.retire) {
      start_retirement(nc.worker, nc.fd);
    } else {
      install_channel(nc.worker, nc.fd);
    }
  }
  for (const Accepted& a : batch) {
    if (stopping_) {
      close(a.fd);
      continue;
    }
    open_connection(a);
  }
  if (stop_requested_ && !stopping_) {
    stopping_ = true;
    for (ListenEvent& l : listeners_) event_del(l.ev);
    stop_deadline_ = now() + settings_.close_timeout;
    for (Connection* c : std::vector<Connection*>(connections_)) {
      if (c->phase == Phase::WebSocket) {
        send_close(*c, WSD_CLOSE_GOING_AWAY, "server shutting down");
      } else if (c->phase != Phase::Closing) {
        finish(*c);
      }
    }
  }
}

int64_t Reactor::now_ns() const {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

double Reactor::now() const {
  return static_cast<double>(now_ns()) * 1e-9;
}

uint32_t Reactor::now_ms() const {
  return static_cast<uint32_t>(static_cast<uint64_t>((now() - epoch_) * 1000.0));
}

Connection* Reactor::find(uint64_t id) const {
  uint32_t slot = slot_of(id);
  if (slot == 0 || slot >= sessions_.capacity()) return nullptr;
  Connection* c = by_slot_[slot];
  return c && c->id == id && !c->doomed ? c : nullptr;
}

void Reactor::on_tick(evutil_socket_t, short, void* arg) {
  static_cast<Reactor*>(arg)->check_deadlines();
}

// Handshakes that never finish, close handshakes the client never answers,
// and (heartbeat_check_interval) connections idle for too long end here.
void Reactor::check_deadlines() {
  // The IPC queue depth towards the workers, for /metrics (a gauge).
  size_t queued = 0;
  for (const WorkerLink& link : workers_) {
    if (link.channel) queued += link.channel->pending();
    if (link.retiring) queued += link.retiring->pending();
  }
  stats_->ipc_queue_bytes.set(queued);
  double t = now();
  if (settings_.heartbeat_interval > 0) check_heartbeats(t);
  // Forget the handshake buckets of IPs that have been quiet (they are full again).
  if (!handshake_rate_.empty() && t - last_bucket_sweep_ >= 10) {
    last_bucket_sweep_ = t;
    double rate = settings_.handshake_rate_per_ip;
    double burst = rate > 1 ? rate : 1;
    for (auto it = handshake_rate_.begin(); it != handshake_rate_.end();) {
      if ((t - it->second.last) * rate >= burst) {
        it = handshake_rate_.erase(it);
      } else {
        ++it;
      }
    }
  }
  // By index: destroy() only marks a connection; the list changes in free_doomed().
  for (size_t i = 0; i < connections_.size(); ++i) {
    Connection* c = connections_[i];
    if (c->doomed || c->deadline() == 0 || t < c->deadline()) continue;
    if (!c->websocket && c->phase != Phase::Draining) {
      spdlog::debug("[reactor {}] conn {}: handshake timeout", index_, c->id);
      count_failure(HandshakeFailure::Timeout);
    }
    destroy(*c);
  }
}

// Swoole's heartbeat: a connection that sent nothing for heartbeat_idle_time
// is closed (a WebSocket with heartbeat_close_code, anything before the
// handshake by just closing); with heartbeat_ping one idle for half of it is
// pinged first, and its pong counts as activity.
void Reactor::check_heartbeats(double t) {
  double idle_limit = settings_.heartbeat_idle;
  uint32_t t_ms = static_cast<uint32_t>(static_cast<uint64_t>((t - epoch_) * 1000.0));
  for (size_t i = 0; i < connections_.size(); ++i) {
    Connection* c = connections_[i];
    if (c->doomed) continue;
    double idle = static_cast<uint32_t>(t_ms - c->last_recv_ms) / 1000.0;
    switch (c->phase) {
      case Phase::WebSocket:
        if (idle > idle_limit) {
          spdlog::debug("[reactor {}] conn {}: idle for {:.2f}s, closed", index_, c->id, idle);
          send_close(*c, settings_.heartbeat_close_code, "idle");
        } else if (settings_.heartbeat_ping && !c->ping_sent && idle >= idle_limit / 2) {
          c->ping_sent = true;
          send_frame(*c, WSD_OPCODE_PING, WSD_FLAG_FIN, {});
        }
        break;
      case Phase::ProxyHeader:
      case Phase::TlsHandshake:
      case Phase::Http:
        if (idle > idle_limit) destroy(*c);
        break;
      case Phase::AwaitWorker:   // a worker is answering: the client waits, rightly
      case Phase::Closing:       // bounded by the close timeout
      case Phase::Draining:
        break;
    }
  }
}

}  // namespace wsd::daemon
