// Socket I/O of client connections: accept hand-over, reads, corked writes,
// and the one place a connection is torn down.
#include <arpa/inet.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>

#include "core/http_response.h"
#include "daemon/reactor.h"
#include "wsd/plugin.h"

namespace wsd::daemon {

namespace {
// Reads per wake-up before other connections get their turn.
constexpr int kReadsPerWakeup = 4;
// What a client may send ahead while a worker answers its request.
constexpr size_t kReadBufferBound = 64 * 1024;

int64_t wall_seconds() { return static_cast<int64_t>(time(nullptr)); }
}  // namespace

void Reactor::open_connection(const Accepted& a) {
  if (sessions_.live() >= settings_.max_connection) {
    refuse_connection(a.fd);
    return;
  }
  SessionInfo info;
  info.status = WSD_STATUS_CONNECTION;
  info.reactor = static_cast<uint8_t>(index_);
  info.server_port = a.server_port;
  info.connect_time = info.last_time = wall_seconds();
  if (a.peer.sin6_family == AF_INET) {
    auto* v4 = reinterpret_cast<const sockaddr_in*>(&a.peer);
    info.family = AF_INET;
    std::memcpy(info.addr, &v4->sin_addr, 4);
    info.remote_port = ntohs(v4->sin_port);
  } else {
    info.family = AF_INET6;
    std::memcpy(info.addr, &a.peer.sin6_addr, 16);
    info.remote_port = ntohs(a.peer.sin6_port);
  }
  // Until a trusted proxy says otherwise, the client is the TCP peer.
  info.peer_family = info.family;
  std::memcpy(info.peer_addr, info.addr, sizeof info.addr);
  info.peer_port = info.remote_port;
  const ListenerRuntime& listener = settings_.listeners[a.listener];
  info.tls = listener.tls ? 1 : 0;
  if (listener.proxy_protocol && !peer_is_trusted(a.peer, listener)) {
    spdlog::debug("[reactor {}] PROXY header expected from an untrusted peer: closed", index_);
    ::close(a.fd);
    return;
  }
  // Behind a trusted proxy the TCP peer is the proxy: per-IP limits and
  // by-IP dispatch wait for the real client (client_address_known).
  const bool proxied = peer_is_trusted(a.peer, listener);
  if (!proxied && ip_limits_on()) {
    if (int status = ip_limit_status(ip_key(info.family, info.addr))) {
      refuse_with(a.fd, status);
      return;
    }
  }
  uint64_t id = sessions_.acquire(info);
  if (id == 0) {
    refuse_connection(a.fd);
    return;
  }
  stats_->accepted.add();
  Connection* c = slab_.create(settings_.reader);
  if (!proxied && settings_.max_connection_per_ip > 0) {
    per_ip_[ip_key(info.family, info.addr)]++;
    c->ip_counted = true;
  }
  c->client_known = !proxied;
  c->id = id;
  c->fd = a.fd;
  c->listener = a.listener;
  ConnectionExtra& x = c->ext();
  x.http = std::make_unique<core::HttpRequestParser>(settings_.http);
  x.deadline = now() + settings_.handshake_timeout;
  c->last_recv_ms = now_ms();
  c->worker = static_cast<uint16_t>(home_worker(id, a.peer));
  sessions_.set_worker(id, c->worker);
  c->list_index = static_cast<uint32_t>(connections_.size());
  connections_.push_back(c);
  by_slot_[slot_of(id)] = c;
  if (listener.proxy_protocol) {
    x.proxy = std::make_unique<core::ProxyHeaderParser>();
    c->phase = Phase::ProxyHeader;
  } else {
    begin_after_proxy(*c);
  }
  update_events(*c);
  spdlog::debug("[reactor {}] conn {}: accepted", index_, id);
}

// The client IP's bytes (4 or 16), the key of the per-IP tables.
std::string Reactor::ip_key(uint8_t family, const uint8_t* addr) {
  return std::string(reinterpret_cast<const char*>(addr), family == AF_INET ? 4 : 16);
}

// max_connection_per_ip (HTTP 503) and handshake_rate_per_ip (a token bucket
// per IP, HTTP 429). Both are per reactor: in PROCESS mode with several
// reactors, each one counts only the connections it accepted. Returns the
// refusal's status, 0 when the connection may go on (and then takes a token).
int Reactor::ip_limit_status(const std::string& key) {
  if (settings_.max_connection_per_ip > 0) {
    auto it = per_ip_.find(key);
    if (it != per_ip_.end() && it->second >= settings_.max_connection_per_ip) return 503;
  }
  if (settings_.handshake_rate_per_ip > 0) {
    double rate = settings_.handshake_rate_per_ip;
    double burst = rate > 1 ? rate : 1;
    double t = now();
    auto [it, fresh] = handshake_rate_.try_emplace(key);
    IpBucket& b = it->second;
    if (fresh) {
      b.tokens = burst;
    } else {
      b.tokens += (t - b.last) * rate;
      if (b.tokens > burst) b.tokens = burst;
    }
    b.last = t;
    if (b.tokens < 1) return 429;
    b.tokens -= 1;
  }
  return 0;
}

// A trusted proxy named the client (PROXY header, or X-Forwarded-For on the
// first request; the first to speak wins), or said nothing: the address the
// session table now holds is the client's. Applies what waited for it:
// by-IP dispatch picks the home worker (no event has been sent yet) and the
// per-IP limits count it. False when the limits refused the connection
// (answered with `status` if we are at the HTTP stage, else just closed).
bool Reactor::client_address_known(Connection& c, bool http_stage) {
  if (c.client_known) return true;
  c.client_known = true;
  SessionInfo info;
  if (!sessions_.read(c.id, info)) return true;
  if (settings_.dispatch_mode == config::DispatchMode::ByIp && !local_) {
    c.worker = static_cast<uint16_t>(hash_ip(info.family, info.addr) % static_cast<uint32_t>(settings_.worker_num));
    sessions_.set_worker(c.id, c.worker);
  }
  if (!ip_limits_on()) return true;
  std::string key = ip_key(info.family, info.addr);
  if (int status = ip_limit_status(key)) {
    log_refusal(status);
    stats_->refused.add();
    if (http_stage) {
      answer_http(c, status, "per-IP limit");
    } else {
      destroy(c);
    }
    return false;
  }
  if (settings_.max_connection_per_ip > 0) {
    per_ip_[key]++;
    c.ip_counted = true;
  }
  return true;
}

// The key is the client's address as the session slot holds it (the one
// client_address_known counted): read before the slot is released.
void Reactor::release_ip(const Connection& c) {
  SessionInfo info;
  if (!sessions_.read(c.id, info)) return;
  auto it = per_ip_.find(ip_key(info.family, info.addr));
  if (it == per_ip_.end()) return;
  if (--it->second == 0) per_ip_.erase(it);
}

void Reactor::log_refusal(int status) {
  double t = now();
  if (t - last_refusal_log_ >= 1.0) {
    last_refusal_log_ = t;
    spdlog::warn("[reactor {}] per-IP limit: refused a connection with HTTP {}", index_, status);
  }
}

// An HTTP error before any handshake, best effort (one non-blocking write), then close.
void Reactor::refuse_with(int fd, int status) {
  std::string answer = core::http_error_response(status);
  [[maybe_unused]] ssize_t n = ::send(fd, answer.data(), answer.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
  ::close(fd);
  stats_->refused.add();
  log_refusal(status);
}

bool Reactor::peer_is_trusted(const sockaddr_in6& peer, const ListenerRuntime& l) const {
  if (!l.trusted) return false;
  if (peer.sin6_family == AF_INET) {
    return l.trusted->contains(AF_INET, reinterpret_cast<const uint8_t*>(
                                            &reinterpret_cast<const sockaddr_in*>(&peer)->sin_addr));
  }
  return l.trusted->contains(AF_INET6, reinterpret_cast<const uint8_t*>(&peer.sin6_addr));
}

// Over max_connection: a 503 before any handshake, best effort (one
// non-blocking write), then close. Logged at most once a second.
void Reactor::refuse_connection(int fd) {
  static const std::string answer = core::http_error_response(503);
  [[maybe_unused]] ssize_t n = ::send(fd, answer.data(), answer.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
  ::close(fd);
  refused_++;
  stats_->refused.add();
  double t = now();
  if (t - last_refusal_log_ >= 1.0) {
    last_refusal_log_ = t;
    spdlog::warn("[reactor {}] max_connection ({}) reached: refused {} connection(s) so far", index_,
                 settings_.max_connection, refused_);
  }
}

void Reactor::on_readable(Connection& c, bool to_eof) {
  if (c.doomed) return;
  if (c.phase == Phase::ProxyHeader) {
    read_proxy_header(c);
    if (c.doomed || c.phase == Phase::ProxyHeader) return;
  }
  if (c.phase == Phase::TlsHandshake && !drive_tls_handshake(c)) return;
  int i = 0;
  for (; i < kReadsPerWakeup && !c.doomed && !c.read_paused; ++i) {
    size_t n = 0;
    switch (read_bytes(c, read_buffer_.data(), read_buffer_.size(), n)) {
      case IoStatus::Data:
        stats_->bytes_in.add(n);
        c.read_seq = ++reads_;
        sessions_.touch(c.id, wall_seconds());
        if (settings_.heartbeat_interval > 0) {
          c.last_recv_ms = now_ms();
          c.ping_sent = false;
        }
        feed(c, read_buffer_.data(), n);
        if (c.io_wants_write) update_events(c);  // TLS: the socket must become writable first
        // Bytes held for replay after this iteration (they came behind the
        // upgrade request) go first: what follows them waits in the socket.
        if (c.extra && !c.extra->stash.empty()) {
          read_again(c);
          return;
        }
        if (n < read_buffer_.size() && !to_eof && !(c.tls() && c.tls()->pending())) return;
        continue;
      case IoStatus::WouldBlock:
        if (c.io_wants_write) update_events(c);
        return;
      case IoStatus::Eof:
        if (c.phase == Phase::AwaitWorker && c.extra && c.extra->pending && c.extra->pending->kind == PendingRequest::Kind::Request) {
          // A plain HTTP client may half-close after its request: it still
          // reads the answer, which then ends the connection.
          c.peer_half_closed = true;
          c.read_paused = true;
          update_events(c);
          return;
        }
        // The FIN can come in the same pass as the bytes before it (edge-
        // triggered, we read on to it), so our answer to them may still be
        // queued: an HTTP client that half-closed reads it, then the
        // connection ends; a WebSocket peer gets it if the socket takes it
        // (not over TLS: the session saw the FIN without close_notify and
        // writes no more, which must not turn a close we started into 1006).
        if (c.pending_output() > 0) {
          if (c.phase == Phase::Http) {
            c.peer_half_closed = true;
            finish(c);
            return;
          }
          if (!c.tls()) write_now(c);
          if (c.doomed) return;
        }
        [[fallthrough]];
      case IoStatus::Error:
        // The client went away without (finishing) a close handshake. If we
        // had already sent our close, the code we sent stands.
        if (c.phase != Phase::Closing && c.phase != Phase::Draining) {
          c.close_code = WSD_CLOSE_ABNORMAL;
          c.close_by_server = false;
        }
        if (c.tls()) c.extra->tls.reset();  // no close_notify to a peer that is gone
        destroy(c);
        return;
    }
  }
  // Out of budget with bytes perhaps still in the socket or inside TLS: the
  // fd (edge-triggered) will not wake us for them.
  if (i == kReadsPerWakeup && !c.doomed && !c.read_paused) read_again(c);
}

void Reactor::feed(Connection& c, uint8_t* data, size_t len) {
  switch (c.phase) {
    case Phase::Http:
      feed_http(c, data, len);
      break;
    case Phase::AwaitWorker:
      // The client sent more before our answer (pipelining); keep it for later,
      // within the same bound as a request's header section.
      if (c.extra && c.extra->pending) {
        std::string& leftover = c.extra->pending->leftover;
        leftover.append(reinterpret_cast<char*>(data), len);
        if (leftover.size() > settings_.http.max_header_bytes + kReadBufferBound) {
          c.close_code = WSD_CLOSE_POLICY_ERROR;
          destroy(c);
        }
      }
      break;
    case Phase::WebSocket:
    case Phase::Closing: {
      current_ = &c;
      c.reader.feed(data, len, *this);
      current_ = nullptr;
      // Between messages the reassembly buffer goes back to the pool.
      if (std::unique_ptr<core::Buffer> b = c.reader.take_buffer()) buffers_.give(std::move(b));
      break;
    }
    case Phase::Draining:
      break;  // nothing more is read once we are leaving
    case Phase::ProxyHeader:
    case Phase::TlsHandshake:
      break;  // on_readable handles these before any bytes are fed
  }
}

void Reactor::on_writable(Connection& c) {
  if (c.phase == Phase::TlsHandshake) {
    if (drive_tls_handshake(c)) on_readable(c, true);  // the request may already be inside TLS
    return;
  }
  if (c.io_wants_write) {
    c.io_wants_write = false;
    on_readable(c, true);
    if (c.doomed) return;
  }
  write_now(c);
}

// A frame this large with nothing queued before it goes to the socket at
// once, header and payload from where they are: copying it into the output
// buffer first costs more than the batching saves.
constexpr size_t kWriteThroughAt = 8 * 1024;

void Reactor::queue_output(Connection& c, std::string_view a, std::string_view b) {
  // Not for a connection being destroyed: its queued bytes are never written.
  if (b.size() >= kWriteThroughAt && c.pending_output() == 0 && !c.tls() && !c.doomed) {
    size_t n = write_through(c, a, b);
    if (n == a.size() + b.size()) return;
    // The rest waits its turn like any other output.
    if (n >= a.size()) {
      b.remove_prefix(n - a.size());
      a = {};
    } else {
      a.remove_prefix(n);
    }
  }
  if (!c.out) c.out = buffers_.take();
  std::vector<uint8_t>& out = c.out->bytes;
  // A slow reader drains the front while pushes append at the back: drop
  // the written front once it is half the buffer, or the buffer would grow
  // without bound although what is pending stays under buffer_output_size.
  if (c.out->head > 0 && c.out->head >= out.size() / 2) {
    out.erase(out.begin(), out.begin() + static_cast<std::ptrdiff_t>(c.out->head));
    c.out->head = 0;
  }
  if (!c.shared.empty()) take_shared(c);  // fan-out frames queued earlier leave first
  append_out(c, a);
  append_out(c, b);
  if (!c.dirty) {
    c.dirty = true;
    dirty_.push_back(&c);
  }
}

// One sendmsg of both pieces; how many bytes the socket took (0 on would
// block or error: write_now meets the error again and closes).
size_t Reactor::write_through(Connection& c, std::string_view a, std::string_view b) {
  iovec iov[2] = {{const_cast<char*>(a.data()), a.size()}, {const_cast<char*>(b.data()), b.size()}};
  msghdr m{};
  m.msg_iov = iov;
  m.msg_iovlen = 2;
  ssize_t sent;
  do {
    sent = ::sendmsg(c.fd, &m, MSG_NOSIGNAL);
  } while (sent < 0 && errno == EINTR);
  if (sent <= 0) return 0;
  stats_->bytes_out.add(static_cast<uint64_t>(sent));
  return static_cast<size_t>(sent);
}

// Appends to the connection's output buffer, borrowing one from the pool
// when it has none. Same-type pointers: one memmove, not a converting loop.
void Reactor::append_out(Connection& c, std::string_view bytes) {
  if (!c.out) c.out = buffers_.take();
  const auto* p = reinterpret_cast<const uint8_t*>(bytes.data());
  c.out->bytes.insert(c.out->bytes.end(), p, p + bytes.size());
}

// Called after each loop iteration for connections written during it.
void Reactor::write_now(Connection& c) {
  if (!c.shared.empty() && !write_shared(c)) return;  // fan-out frames (topic_phase.cc)
  while (c.out && c.out->size() > 0) {
    size_t n = 0;
    IoStatus st = send_bytes(c, c.out->bytes.data() + c.out->head, c.out->size(), n);
    if (st == IoStatus::Data) {
      stats_->bytes_out.add(n);
      c.out->head += n;
      continue;
    }
    if (st == IoStatus::WouldBlock) break;
    c.close_code = WSD_CLOSE_ABNORMAL;
    if (c.tls()) c.extra->tls.reset();
    destroy(c);
    return;
  }
  if (c.pending_output() == 0) {
    // Drained: the buffer goes back to the pool, so an idle connection holds none.
    buffers_.give(std::move(c.out));
    if (c.phase == Phase::Draining) {
      if (!linger(c)) destroy(c);
      return;
    }
  }
  sessions_.set_output(c.id, c.pending_output());
  update_events(c);
}

// Stop reading, let what is queued leave, then close (bounded by the close timeout).
void Reactor::finish(Connection& c) {
  if (c.doomed) return;
  c.phase = Phase::Draining;
  c.read_paused = true;
  c.ext().deadline = now() + settings_.close_timeout;
  if (c.websocket) sessions_.set_status(c.id, WSD_STATUS_CLOSING);
  if (c.pending_output() == 0 && !c.dirty) {
    destroy(c);
    return;
  }
  update_events(c);
}

// After our last bytes (a close frame) have left a WebSocket connection, the
// client may still be sending (a 1009 arrives while the rest of an oversized
// frame is on its way). Closing now would reset the connection and could
// destroy our close frame before the client reads it, so we half-close and
// read and drop until the client closes, bounded by the close timeout.
// Returns false when there is nothing to wait for.
bool Reactor::linger(Connection& c) {
  if (c.lingering || !c.websocket || c.tls()) return false;
  c.lingering = true;
  ::shutdown(c.fd, SHUT_WR);
  c.read_paused = false;
  c.ext().deadline = now() + std::min(settings_.close_timeout, 2.0);
  update_events(c);
  return true;
}

// The single exit: the close (or disconnect) event is sent here, so exactly once.
void Reactor::destroy(Connection& c) {
  if (c.doomed) return;
  c.doomed = true;
  unwatch(c);
  leave_topics(c);
  if (c.plugin >= 0) {
    if (c.websocket) {
      char by_server = c.close_by_server ? 1 : 0;
      std::string_view reason = c.extra ? std::string_view(c.extra->close_reason) : std::string_view();
      dispatch(c.worker, c, ipc::MessageType::Close, c.close_code, static_cast<uint8_t>(c.plugin),
               std::string_view(&by_server, 1), reason);
    } else {
      dispatch(c.worker, c, ipc::MessageType::Disconnect, 0, static_cast<uint8_t>(c.plugin), {});
    }
  }
  doomed_.push_back(&c);
}

void Reactor::free_doomed() {
  for (Connection* c : doomed_) {
    // Swap-remove from the connection list.
    Connection* last = connections_.back();
    connections_[c->list_index] = last;
    last->list_index = c->list_index;
    connections_.pop_back();
    by_slot_[slot_of(c->id)] = nullptr;
    if (c->ip_counted) release_ip(*c);   // reads the session: before its release
    sessions_.release(c->id);
    if (c->tls()) c->tls()->shutdown();  // close_notify, best effort
    ::close(c->fd);
    spdlog::debug("[reactor {}] conn {}: closed ({})", index_, c->id, c->close_code);
    buffers_.give(std::move(c->out));
    slab_.destroy(c);
  }
  stats_->closed.add(doomed_.size());
  doomed_.clear();
}

void Reactor::trim_extra(Connection& c) {
  if (c.extra && !c.extra->in_use()) c.extra.reset();
}

std::unique_ptr<core::Buffer> Reactor::lend_buffer() { return buffers_.take(); }

}  // namespace wsd::daemon
