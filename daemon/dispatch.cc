// The reactor's side of the worker channels: which worker gets an event,
// batching, backpressure, and the commands workers send back.
#include <spdlog/spdlog.h>

#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <time.h>

#include <cerrno>

#include "daemon/arrival_order.h"
#include "daemon/reactor.h"

namespace wsd::daemon {

namespace {
// Above this many unwritten bytes towards one worker, stop reading from the
// connections that feed it; resume when it has drained.
constexpr size_t kCongestedAt = 4 * 1024 * 1024;

// The longest a reactor waits in one loop iteration for its workers'
// answers (collect_answers).
constexpr int64_t kAnswerWaitNs = 100'000;

}  // namespace

uint32_t Reactor::hash_ip(uint8_t family, const uint8_t* addr) {
  size_t n = family == AF_INET ? 4 : 16;
  uint32_t h = 2166136261u;  // FNV-1a
  for (size_t i = 0; i < n; ++i) h = (h ^ addr[i]) * 16777619u;
  return h;
}

// The connection's home worker, fixed at accept: by id, or by client IP in
// dispatch_mode 4.
int Reactor::home_worker(uint64_t id, const sockaddr_in6& peer) const {
  if (local_) return local_worker_;  // BASE mode: this process is the worker
  const int n = settings_.worker_num;
  if (settings_.dispatch_mode == config::DispatchMode::ByIp) {
    // The TCP peer at accept; behind a trusted proxy client_address_known
    // picks again once the client is known.
    bool v4 = peer.sin6_family == AF_INET;
    const auto* addr = v4 ? reinterpret_cast<const uint8_t*>(&reinterpret_cast<const sockaddr_in*>(&peer)->sin_addr)
                          : peer.sin6_addr.s6_addr;
    return static_cast<int>(hash_ip(v4 ? AF_INET : AF_INET6, addr) % static_cast<uint32_t>(n));
  }
  return static_cast<int>((id >> kSlotBits) % n);
}

// Open, close, handshake and request events go to the home worker; messages
// as dispatch_mode says.
int Reactor::pick_worker(const Connection& c, bool is_message) {
  if (local_) return local_worker_;  // BASE mode: this process is the worker
  if (!is_message) return c.worker;
  const int n = settings_.worker_num;
  using config::DispatchMode;
  switch (settings_.dispatch_mode) {
    case DispatchMode::Fixed:
    case DispatchMode::ByIp:
      return c.worker;
    case DispatchMode::RoundRobin:
      return static_cast<int>(round_robin_++ % n);
    case DispatchMode::Preemptive: {
      int best = 0;
      for (int w = 1; w < n; ++w) {
        if (workers_[w].inflight < workers_[best].inflight) best = w;
      }
      return best;
    }
  }
  return c.worker;
}

void Reactor::dispatch(int w, Connection& c, ipc::MessageType type, uint16_t aux, uint8_t flags,
                       std::string_view payload, std::string_view payload2) {
  if (local_) {
    local_->deliver(type, c.id, aux, flags, payload, payload2);
    return;
  }
  workers_[w].channel->append(type, c.id, aux, flags, payload, payload2);
  dispatched(w, c);
}

// Bookkeeping for an event queued towards worker w: flushed after the
// iteration, counted in flight, and backpressure once the queue is long.
void Reactor::dispatched(int w, Connection& c) {
  WorkerLink& link = workers_[w];
  if (link.inflight == 0) link.fresh_batch = true;
  link.inflight++;
  link.dirty = true;
  if (!link.congested && link.channel->pending() > kCongestedAt) link.congested = true;
  if (link.congested && !c.read_paused && !c.doomed) {
    c.read_paused = true;
    link.paused.push_back(c.id);
    update_events(c);
  }
}

void Reactor::flush_channel(int w) {
  WorkerLink& link = workers_[w];
  link.dirty = false;
  if (link.retiring) {
    // Only the old worker's queue moves; the successor's waits.
    if (link.retiring_write_closed) return;
    bool done = link.retiring->flush() == ipc::Channel::IoResult::Ok;
    if (done) {
      ::shutdown(link.retiring->fd(), SHUT_WR);  // the old worker reads to the end, then exits
      link.retiring_write_closed = true;
    }
    event_del(link.retiring_ev);
    event_assign(link.retiring_ev, base_, link.retiring->fd(), EV_READ | EV_PERSIST | (done ? 0 : EV_WRITE),
                 &Reactor::on_channel_event, this);
    event_add(link.retiring_ev, nullptr);
    return;
  }
  if (!link.alive) return;
  ipc::Channel::IoResult r = link.channel->flush();
  if (link.fresh_batch && r == ipc::Channel::IoResult::Ok) link.timing.sent(link.processed + link.inflight);
  link.fresh_batch = false;
  bool want_write = r == ipc::Channel::IoResult::WouldBlock;
  if (r == ipc::Channel::IoResult::Ok && link.congested) {
    link.congested = false;
    resume_paused(w);
  }
  if (want_write != link.want_write) {
    link.want_write = want_write;
    event_del(link.ev);
    event_assign(link.ev, base_, link.channel->fd(), EV_READ | EV_PERSIST | (want_write ? EV_WRITE : 0),
                 &Reactor::on_channel_event, this);
    event_add(link.ev, nullptr);
  }
}

void Reactor::flush_channels() {
  for (size_t w = 0; w < workers_.size(); ++w) {
    if (workers_[w].dirty) flush_channel(static_cast<int>(w));
  }
}

// PROCESS mode, right after the iteration's events went to the workers:
// wait for the answers of those that were idle, so that the answers leave
// with this iteration's writes. Left to the next poll, an answer that came a
// moment after it would wait a whole iteration more, so a round trip would
// take one iteration or two by chance; and the workers would be woken twice
// as often, for half the events each time. Waiting, the reactor leaves its
// core to the workers (woken there, most often). Bounded: only workers that
// answered quickly of late (AnswerTiming), about kAnswerWaitNs at most in all.
// Returns how many of the workers waited for answered.
int Reactor::collect_answers() {
  static_assert(kAnswerWaitNs >= AnswerTiming::kQuickNs, "a wait cut short must be able to count as slow");
  waited_.clear();
  const int64_t start = now_ns();
  for (size_t w = 0; w < workers_.size(); ++w) {
    WorkerLink& link = workers_[w];
    if (link.alive && !link.retiring && link.timing.worth_waiting(start)) waited_.push_back(static_cast<int>(w));
  }
  if (waited_.empty()) return 0;
  collecting_ = true;
  const int64_t deadline = start + kAnswerWaitNs;
  for (;;) {
    wait_fds_.clear();
    wait_which_.clear();
    for (int w : waited_) {
      const WorkerLink& link = workers_[w];
      if (!link.alive || !link.timing.awaiting()) continue;
      wait_fds_.push_back({link.channel->fd(), POLLIN, 0});
      wait_which_.push_back(w);
    }
    if (wait_fds_.empty()) break;
    int64_t now = now_ns();
    if (now >= deadline) break;
    const int64_t left_ns = deadline - now;
    timespec left{static_cast<time_t>(left_ns / 1'000'000'000), static_cast<long>(left_ns % 1'000'000'000)};
    int ready = ppoll(wait_fds_.data(), wait_fds_.size(), &left, nullptr);
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) break;  // the time is up
    for (size_t i = 0; i < wait_fds_.size(); ++i) {
      if (wait_fds_[i].revents) read_channel(wait_which_[i]);
    }
  }
  collecting_ = false;
  int64_t now = now_ns();
  int answered = 0;
  for (int w : waited_) {
    if (!workers_[w].timing.awaiting()) answered++;
    workers_[w].timing.gave_up(now);
  }
  return answered;
}

// The answers came back grouped by worker: write them in the order their
// messages arrived, oldest first, as a single process answering them one by
// one would. Otherwise one worker's connections would always be answered
// after the other's and settle into a slower round trip than theirs. Only
// when answers of two workers or more came in the wait (one worker answers
// in the order it was given), and not for the long lists of a fan-out, where
// the sort would cost more than the order is worth.
void Reactor::send_in_arrival_order(int answered) {
  constexpr size_t kMostSorted = 4096;
  if (answered >= 2 && dirty_.size() <= kMostSorted) sort_by_arrival(dirty_, reads_);
}

void Reactor::resume_paused(int w) {
  std::vector<uint64_t> ids;
  ids.swap(workers_[w].paused);
  for (uint64_t id : ids) {
    Connection* c = find(id);
    if (!c || c->phase == Phase::Draining) continue;
    c->read_paused = false;
    update_events(*c);
    // Bytes already decrypted inside TLS do not make the fd readable again.
    if (c->tls() && c->tls()->pending()) read_again(*c);
  }
}

void Reactor::on_channel_event(evutil_socket_t fd, short what, void* arg) {
  auto* self = static_cast<Reactor*>(arg);
  for (size_t w = 0; w < self->workers_.size(); ++w) {
    WorkerLink& link = self->workers_[w];
    if (link.retiring && link.retiring->fd() == fd) {
      if (what & EV_WRITE) link.dirty = true;
      if (what & EV_READ) self->read_retiring(static_cast<int>(w));
      return;
    }
    if (link.channel->fd() != fd) continue;
    if (what & EV_WRITE) self->workers_[w].dirty = true;  // flushed after the iteration
    if (what & EV_READ) self->read_channel(static_cast<int>(w));
    return;
  }
}

void Reactor::read_channel(int w) {
  WorkerLink& link = workers_[w];
  ipc::Channel::IoResult r = link.channel->read_messages(
      [&](const ipc::MessageHeader& h, std::string_view payload) { on_channel_message(w, h, payload); });
  if (r == ipc::Channel::IoResult::Closed || r == ipc::Channel::IoResult::Error) {
    spdlog::error("[reactor {}] the channel to worker {} is gone", index_, w);
    link.alive = false;
    event_del(link.ev);
  }
}

void Reactor::command(ipc::MessageType type, uint64_t conn, uint16_t aux, std::string_view payload) {
  switch (type) {
    case ipc::MessageType::Push:
      on_push(conn, aux, payload);
      break;
    case ipc::MessageType::CloseConnection:
      on_close_command(conn, aux, payload);
      break;
    case ipc::MessageType::Response:
      if (Connection* c = find(conn)) on_worker_answer(*c, payload);
      break;
    case ipc::MessageType::Subscribe:
    case ipc::MessageType::Unsubscribe:
      on_subscribe(conn, payload, type == ipc::MessageType::Subscribe);
      break;
    case ipc::MessageType::Publish:   // conn: the topic's length
      if (conn <= payload.size()) publish(payload.substr(0, conn), aux, payload.substr(conn));
      break;
    case ipc::MessageType::Broadcast:
      broadcast(aux, payload);
      break;
    default:
      break;
  }
}

void Reactor::on_channel_message(int w, const ipc::MessageHeader& h, std::string_view payload) {
  switch (h.type) {
    case ipc::MessageType::Push:
    case ipc::MessageType::CloseConnection:
    case ipc::MessageType::Response:
    case ipc::MessageType::Subscribe:
    case ipc::MessageType::Unsubscribe:
    case ipc::MessageType::Publish:
    case ipc::MessageType::Broadcast:
      command(h.type, h.conn, h.aux, payload);
      if (cluster_ && (h.type == ipc::MessageType::Publish || h.type == ipc::MessageType::Broadcast))
        forward_to_cluster(h, payload);
      break;
    case ipc::MessageType::ClusterSend:
      forward_to_cluster(h, payload);
      break;
    case ipc::MessageType::Processed: {
      WorkerLink& link = workers_[w];
      link.inflight = h.conn > link.inflight ? 0 : link.inflight - h.conn;
      link.processed += h.conn;
      if (link.timing.awaiting()) link.timing.processed(link.processed, now_ns(), collecting_);
      break;
    }
    case ipc::MessageType::Hello:
      for (size_t p = 0; p < payload.size() && p < routes_.plugin_count(); ++p)
        routes_.set_capabilities(static_cast<int>(p), static_cast<uint8_t>(payload[p]));
      hellos_++;
      break;
    default:
      spdlog::warn("[reactor {}] worker {} sent an unexpected message type {}", index_, w,
                   static_cast<int>(h.type));
      break;
  }
}

}  // namespace wsd::daemon
