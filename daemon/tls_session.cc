// TlsSession: OpenSSL's return codes mapped onto the reactor's vocabulary.
#include "daemon/tls_session.h"

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <cerrno>
#include <system_error>

#include "daemon/tls_context.h"

namespace wsd::daemon {

TlsSession::TlsSession(SSL_CTX* ctx, int fd) {
  ssl_ = SSL_new(ctx);
  if (ssl_ == nullptr || SSL_set_fd(ssl_, fd) != 1) {
    error_ = "creating the TLS session: " + take_openssl_errors();
    dead_ = Io::Error;
    return;
  }
  SSL_set_accept_state(ssl_);
}

TlsSession::~TlsSession() {
  SSL_free(ssl_);  // the socket BIO does not close the fd
}

TlsSession::Io TlsSession::handshake() {
  if (done_) return Io::Ok;
  if (dead_ != Io::Ok) return dead_;
  // SSL_get_error reads the queue: an unrelated stale entry would turn a
  // harmless WANT_READ into a fatal error.
  ERR_clear_error();
  int ret = SSL_do_handshake(ssl_);
  if (ret == 1) {
    done_ = true;
    return Io::Ok;
  }
  return result(ret, "handshake");
}

TlsSession::Io TlsSession::read(uint8_t* buf, size_t cap, size_t& n) {
  n = 0;
  if (dead_ != Io::Ok) return dead_;
  // SSL_read_ex returns one record at a time; looping makes a short read
  // mean "drained", as it does for ::read.
  while (n < cap) {
    size_t got = 0;
    ERR_clear_error();
    if (SSL_read_ex(ssl_, buf + n, cap - n, &got) == 1) {
      n += got;
      continue;
    }
    Io io = result(0, "read");
    // A wish to write outlives the bytes read before it: records may still
    // wait in the socket, and only a writable socket lets us get to them.
    return n > 0 && io != Io::WantWrite ? Io::Ok : io;
  }
  return Io::Ok;
}

TlsSession::Io TlsSession::write(const uint8_t* buf, size_t len, size_t& n) {
  n = 0;
  if (dead_ != Io::Ok) return dead_;
  // With partial writes on, each SSL_write_ex sends at most one record.
  while (n < len) {
    size_t put = 0;
    ERR_clear_error();
    if (SSL_write_ex(ssl_, buf + n, len - n, &put) == 1) {
      n += put;
      continue;
    }
    Io io = result(0, "write");
    // Bytes that reached the socket count even if the connection then broke;
    // dead_ reports the break on the next call.
    return n > 0 ? Io::Ok : io;
  }
  return Io::Ok;
}

void TlsSession::shutdown() {
  if (!done_ || shut_ || dead_ != Io::Ok) return;
  shut_ = true;
  ERR_clear_error();
  // 0 = sent, peer's not yet seen; <0 = socket full or broken. Either way the
  // caller closes next: a close_notify is a courtesy, not worth waiting for.
  if (SSL_shutdown(ssl_) < 0) ERR_clear_error();
}

bool TlsSession::pending() const {
  // SSL_has_pending also counts undecrypted records read ahead, which
  // SSL_pending does not.
  return ssl_ != nullptr && SSL_has_pending(ssl_) == 1;
}

std::string TlsSession::protocol() const {
  return done_ ? SSL_get_version(ssl_) : "";
}

// Maps a failed call. Fatal outcomes stick in dead_, because OpenSSL allows
// no further I/O (not even close_notify) on a session in error.
TlsSession::Io TlsSession::result(int ret, const char* op) {
  int saved_errno = errno;
  int code = SSL_get_error(ssl_, ret);
  if (code == SSL_ERROR_WANT_READ) return Io::WantRead;
  if (code == SSL_ERROR_WANT_WRITE) return Io::WantWrite;
  if (code == SSL_ERROR_ZERO_RETURN) return Io::Closed;  // our close_notify may still go out
  // TCP closed without close_notify, as many clients leave: a close, not an attack
  // on WebSocket, whose frames carry their own lengths.
  bool eof = (code == SSL_ERROR_SSL &&
              ERR_GET_REASON(ERR_peek_last_error()) == SSL_R_UNEXPECTED_EOF_WHILE_READING) ||
             (code == SSL_ERROR_SYSCALL && saved_errno == 0 && ERR_peek_error() == 0);
  bool os_error = code == SSL_ERROR_SYSCALL && saved_errno != 0;
  error_ = std::string(op) + ": " +
           (os_error ? std::generic_category().message(saved_errno) : take_openssl_errors());
  ERR_clear_error();
  dead_ = eof ? Io::Closed : Io::Error;
  return dead_;
}

}  // namespace wsd::daemon
