// What may come before HTTP on a connection: a trusted proxy's PROXY header,
// then a TLS handshake; and byte I/O that goes through TLS when there is one.
#include <arpa/inet.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "daemon/reactor.h"
#include "wsd/plugin.h"

namespace wsd::daemon {

namespace {
// A PROXY header is at most 107 bytes (v1) or a bounded v2 block; we peek at
// no more than this, so that nothing after the header is taken from the socket
// (a TLS handshake reads straight from it).
constexpr size_t kProxyPeek = 1024;
}  // namespace

Reactor::IoStatus Reactor::read_bytes(Connection& c, uint8_t* buf, size_t cap, size_t& n) {
  n = 0;
  if (TlsSession* tls = c.tls()) {
    TlsSession::Io r = tls->read(buf, cap, n);
    c.io_wants_write = r == TlsSession::Io::WantWrite;
    if (n > 0) return IoStatus::Data;
    switch (r) {
      case TlsSession::Io::Ok:
      case TlsSession::Io::WantRead:
      case TlsSession::Io::WantWrite:
        return IoStatus::WouldBlock;
      case TlsSession::Io::Closed:
        return IoStatus::Eof;
      case TlsSession::Io::Error:
        spdlog::debug("[reactor {}] conn {}: TLS: {}", index_, c.id, tls->error_text());
        return IoStatus::Error;
    }
  }
  for (;;) {
    ssize_t got = ::read(c.fd, buf, cap);
    if (got > 0) {
      n = static_cast<size_t>(got);
      return IoStatus::Data;
    }
    if (got == 0) return IoStatus::Eof;
    if (errno == EINTR) continue;
    return errno == EAGAIN || errno == EWOULDBLOCK ? IoStatus::WouldBlock : IoStatus::Error;
  }
}

Reactor::IoStatus Reactor::send_bytes(Connection& c, const uint8_t* buf, size_t len, size_t& n) {
  n = 0;
  if (TlsSession* tls = c.tls()) {
    TlsSession::Io r = tls->write(buf, len, n);
    if (n > 0) return IoStatus::Data;
    switch (r) {
      case TlsSession::Io::Ok:
      case TlsSession::Io::WantRead:   // renegotiation is refused; a stray read wish just waits
      case TlsSession::Io::WantWrite:
        return IoStatus::WouldBlock;
      case TlsSession::Io::Closed:
        return IoStatus::Eof;
      case TlsSession::Io::Error:
        return IoStatus::Error;
    }
  }
  for (;;) {
    ssize_t sent = ::send(c.fd, buf, len, MSG_NOSIGNAL);
    if (sent > 0) {
      n = static_cast<size_t>(sent);
      return IoStatus::Data;
    }
    if (sent < 0 && errno == EINTR) continue;
    return sent < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) ? IoStatus::WouldBlock : IoStatus::Error;
  }
}

// Peeks, feeds the parser, then takes exactly the header's bytes off the
// socket; until the header is complete or the socket is empty (edge-
// triggered: bytes or a FIN left behind would not be reported again).
// Untrusted peers never get here (closed at accept).
void Reactor::read_proxy_header(Connection& c) {
  uint8_t buf[kProxyPeek];
  for (;;) {
    ssize_t got = ::recv(c.fd, buf, sizeof buf, MSG_PEEK);
    if (got < 0 && errno == EINTR) continue;
    if (got == 0 || (got < 0 && errno != EAGAIN && errno != EWOULDBLOCK)) {
      destroy(c);
      return;
    }
    if (got < 0) return;  // the rest has not arrived; it brings an edge when it does
    core::ProxyHeaderParser probe = *c.extra->proxy;  // the socket keeps the bytes until we know
    size_t used = probe.feed(buf, static_cast<size_t>(got));
    switch (probe.state()) {
      case core::ProxyHeaderParser::State::Incomplete: {
        // Not all of it is here: consume what was parsed, look for more.
        [[maybe_unused]] ssize_t taken = ::recv(c.fd, buf, used, 0);
        *c.extra->proxy = probe;
        continue;
      }
      case core::ProxyHeaderParser::State::Error:
        spdlog::debug("[reactor {}] conn {}: bad PROXY header: {}", index_, c.id, probe.error());
        count_failure(HandshakeFailure::ProxyHeader);
        destroy(c);
        return;
      case core::ProxyHeaderParser::State::Done: {
        [[maybe_unused]] ssize_t taken = ::recv(c.fd, buf, used, 0);
        const core::ProxyAddress& a = probe.address();
        if (!a.local) {
          sessions_.set_remote(c.id, static_cast<uint8_t>(a.family), a.src_addr, a.src_port);
        }
        c.extra->proxy.reset();
        if (!client_address_known(c, false)) return;
        begin_after_proxy(c);
        return;
      }
    }
  }
}

// After the PROXY header (or at accept): TLS first if the listener has it.
void Reactor::begin_after_proxy(Connection& c) {
  const ListenerRuntime& l = settings_.listeners[c.listener];
  if (l.tls) {
    c.ext().tls = std::make_unique<TlsSession>(l.tls->current().get(), c.fd);
    c.phase = Phase::TlsHandshake;
    return;
  }
  c.phase = Phase::Http;
}

bool Reactor::drive_tls_handshake(Connection& c) {
  TlsSession::Io r = c.tls()->handshake();
  switch (r) {
    case TlsSession::Io::Ok:
      c.io_wants_write = false;
      c.phase = Phase::Http;
      update_events(c);
      return true;
    case TlsSession::Io::WantRead:
      c.io_wants_write = false;
      update_events(c);
      return false;
    case TlsSession::Io::WantWrite:
      c.io_wants_write = true;
      update_events(c);
      return false;
    case TlsSession::Io::Closed:
    case TlsSession::Io::Error:
      // Plain HTTP on a TLS port, an old protocol, a bad client certificate:
      // this connection alone ends, quietly.
      spdlog::debug("[reactor {}] conn {}: TLS handshake failed: {}", index_, c.id, c.tls()->error_text());
      count_failure(HandshakeFailure::Tls);
      c.extra->tls.reset();  // nothing to shut down
      destroy(c);
      return false;
  }
  return false;
}

// X-Forwarded-For / X-Real-IP, believed only from the listener's trusted proxies.
bool Reactor::apply_forwarded(Connection& c) {
  const ListenerRuntime& l = settings_.listeners[c.listener];
  if (!l.trusted || l.trusted->empty()) return true;
  // The hop that sent the request: the TCP peer, or the client a PROXY
  // header named (then X-Forwarded-For is judged by that address).
  SessionInfo info;
  if (!sessions_.read(c.id, info)) return true;
  core::IpAddress peer;
  peer.family = info.family == AF_INET ? AF_INET : AF_INET6;
  std::memcpy(peer.bytes, info.addr, peer.family == AF_INET ? 4 : 16);
  std::optional<std::string> client = core::forwarded_client(peer, c.extra->http->request(), *l.trusted);
  std::optional<core::IpAddress> ip = client ? core::parse_ip(*client) : std::nullopt;
  // X-Forwarded-For carries no port: the client's port is unknown (0).
  if (ip) sessions_.set_remote(c.id, static_cast<uint8_t>(ip->family), ip->bytes, 0);
  return client_address_known(c, true);
}

}  // namespace wsd::daemon
