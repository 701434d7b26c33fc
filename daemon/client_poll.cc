// The reactor's client sockets live in an epoll set of their own, which the
// libevent loop watches as one readable descriptor (an epoll fd is pollable).
// A libevent `struct event` per connection cost 128 bytes plus about 40 of
// libevent's per-descriptor bookkeeping in every idle connection; an epoll
// registration costs nothing in user space. Timers, channels, the wake-up
// fd and the listeners stay on libevent.
//
// Edge-triggered: a socket is reported when something new happens to it, so
// the ready list is in the order data arrived and a pass serves connections
// first come, first served. Level-triggered, a socket reported once keeps
// its place in the list and is re-checked on every epoll_wait; at 100
// connections each keeping one message in flight that stale order made the
// 99th-percentile round trip 1.75 times the mean instead of 1.45 times
// (docs/performance.md). The price: whoever stops reading before the socket
// is empty (the read budget ran out, bytes wait inside TLS or were held for
// replay) must come back without an event, through read_again(); and a
// short read no longer means the peer has nothing more to say: its FIN may
// wait behind the data, which EPOLLRDHUP tells. Pausing and resuming change
// the interest set, and epoll_ctl reports a socket that is ready at that
// moment. A socket that waits for nothing is removed from the set, so that a
// hang-up is not reported while reading is paused.
#include <spdlog/spdlog.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

#include "daemon/reactor.h"

namespace wsd::daemon {

namespace {
// Ready sockets taken per pass; more wait for the next pass (the set stays
// readable), so channels and timers get their turn in between.
constexpr size_t kReadyPerPass = 512;
}  // namespace

void Reactor::init_client_poll() {
  client_epfd_ = epoll_create1(EPOLL_CLOEXEC);
  if (client_epfd_ < 0) throw std::runtime_error(std::string("epoll_create1: ") + std::strerror(errno));
  ready_.resize(kReadyPerPass);
  clients_ev_ = event_new(base_, client_epfd_, EV_READ | EV_PERSIST, &Reactor::on_clients_ready, this);
  event_add(clients_ev_, nullptr);
}

// The pass itself waits until the iteration's other events have run
// (client_pass), whatever order the kernel reported them in. What matters is
// the worker channels (PROCESS mode): a worker's answers that arrived
// meanwhile are read first, the worker is idle again when the pass hands it
// the next batch, and that batch is waited for (collect_answers). With the
// clients first, a worker whose answers were an iteration late got its next
// batch while still busy, was not waited for, and stayed an iteration behind
// for as long as that order held: its connections' round trips a loop
// iteration longer than the others'.
void Reactor::on_clients_ready(evutil_socket_t, short, void* arg) {
  static_cast<Reactor*>(arg)->clients_ready_ = true;
}

void Reactor::client_pass() {
  if (!clients_ready_) return;
  clients_ready_ = false;
  poll_clients();
}

// One pass: first the connections asked to be read again, then what epoll
// reports ready. A connection destroyed during the pass stays allocated
// until after the loop iteration (free_doomed), so later entries of the same
// batch may still point at it; they see `doomed` and are skipped.
void Reactor::poll_clients() {
  if (!read_again_.empty()) {
    std::vector<uint64_t> ids;
    ids.swap(read_again_);
    for (uint64_t id : ids) {
      if (Connection* c = find(id)) {
        c->read_queued = false;
        on_readable(*c, true);
      }
    }
  }
  int n = epoll_wait(client_epfd_, ready_.data(), static_cast<int>(ready_.size()), 0);
  for (int i = 0; i < n; ++i) {
    auto* c = static_cast<Connection*>(ready_[i].data.ptr);
    uint32_t what = ready_[i].events;
    // A hang-up or error wakes whatever the connection waits for (its read
    // or write then sees the failure), as libevent reports them.
    bool failed = what & (EPOLLHUP | EPOLLERR);
    if (!c->doomed && c->polled_write && (failed || (what & EPOLLOUT))) on_writable(*c);
    // A FIN that came with the last bytes brings no later edge: read to it.
    bool to_eof = failed || (what & EPOLLRDHUP);
    if (!c->doomed && c->polled_read && (to_eof || (what & EPOLLIN))) on_readable(*c, to_eof);
  }
}

// Registers the socket for what the connection waits for now: reading
// unless paused, writing while output (or a TLS step) waits.
void Reactor::update_events(Connection& c) {
  if (c.doomed) return;   // unwatched for good; its fd closes after the iteration
  bool want_write = c.pending_output() > 0 || c.io_wants_write;
  bool want_read = !c.read_paused;
  if (want_read == c.polled_read && want_write == c.polled_write) return;
  bool was_polled = c.polled_read || c.polled_write;
  epoll_event ev{};
  ev.events = (want_read ? EPOLLIN | EPOLLRDHUP : 0u) | (want_write ? EPOLLOUT : 0u) | EPOLLET;
  ev.data.ptr = &c;
  int op = !(want_read || want_write) ? EPOLL_CTL_DEL : was_polled ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;
  if (epoll_ctl(client_epfd_, op, c.fd, &ev) != 0) {
    spdlog::warn("[reactor {}] conn {}: epoll_ctl: {}", index_, c.id, std::strerror(errno));
  }
  c.polled_read = want_read;
  c.polled_write = want_write;
}

void Reactor::unwatch(Connection& c) {
  if (!(c.polled_read || c.polled_write)) return;
  epoll_ctl(client_epfd_, EPOLL_CTL_DEL, c.fd, nullptr);
  c.polled_read = c.polled_write = false;
}

// Bytes left behind (the read budget ran out, bytes were held for replay,
// or they wait decrypted inside TLS) bring no new edge: the next loop
// iteration reads them, after this one's output and replays, and does not
// block meanwhile (after_iteration activates the pass). Not activated from
// here: libevent would run the pass again within this iteration, and a
// client sending faster than its budget drains would keep the loop there.
void Reactor::read_again(Connection& c) {
  if (c.read_queued) return;
  c.read_queued = true;
  read_again_.push_back(c.id);
}

}  // namespace wsd::daemon
