// One server-side TLS connection over a non-blocking socket the reactor owns.
// No threads, no blocking: each call does what the socket allows and says what
// it waits for, like ::read and ::send do with EAGAIN.
//
// Contracts the caller keeps:
// * Until handshake() returns Ok, call it whenever the fd is readable or
//   writable (as WantRead / WantWrite ask). Right after Ok, call read()
//   without waiting: the client's first bytes may already be inside SSL.
// * read() and write() may each want the other direction (WantWrite from
//   read, WantRead from write): wait for that, then repeat the same call.
// * After write() returns WantWrite/WantRead, or Ok with n < len, the next
//   write() must start with the bytes not yet consumed (the buffer may move
//   and grow, it must not shrink): SSL already encrypted some of them.
// * Level-triggered polling cannot see bytes SSL has buffered: when a read
//   loop stops before read() said WantRead, check pending().
// * Errors are returned, never logged; the thread's OpenSSL error queue is
//   left empty so one connection's error is not blamed on another.
// The fd stays the caller's to close, after shutdown().
#pragma once

#include <openssl/types.h>

#include <cstddef>
#include <cstdint>
#include <string>

namespace wsd::daemon {

class TlsSession {
 public:
  enum class Io : uint8_t {
    Ok,          // progress (n bytes for read/write)
    WantRead,    // wait until the fd is readable, then repeat the call
    WantWrite,   // wait until the fd is writable, then repeat the call
    Closed,      // the peer sent close_notify or closed its end (EOF)
    Error,       // protocol error, failed handshake or reset; close the fd
  };

  // SSL_new (which takes a reference on ctx), SSL_set_fd, accept state.
  TlsSession(SSL_CTX* ctx, int fd);
  ~TlsSession();
  TlsSession(const TlsSession&) = delete;
  TlsSession& operator=(const TlsSession&) = delete;

  // Drives the handshake; Ok once done (and on every later call).
  Io handshake();
  bool handshake_done() const { return done_; }

  // Decrypts into buf until it is full or nothing more is available; n is
  // the byte count. Bytes read before a condition are returned as Ok and the
  // condition shows on the next call, except WantWrite, which comes with
  // them (edge-triggered, the next call might never come without it). A
  // TLS 1.2 renegotiation attempt is refused (OpenSSL answers
  // no_renegotiation); the client then aborts, which reads as Error.
  Io read(uint8_t* buf, size_t cap, size_t& n);

  // Encrypts and sends from buf as far as the socket takes; n = bytes consumed.
  Io write(const uint8_t* buf, size_t len, size_t& n);

  // Sends close_notify once, best effort and without waiting; skipped after
  // an error (OpenSSL forbids it) or before the handshake finished.
  void shutdown();

  // SSL holds bytes read from the fd but not yet returned by read().
  bool pending() const;

  std::string protocol() const;   // "TLSv1.3"; "" before the handshake
  std::string error_text() const { return error_; }

 private:
  Io result(int ret, const char* op);

  SSL* ssl_ = nullptr;
  bool done_ = false;        // handshake finished
  bool shut_ = false;        // close_notify attempted
  Io dead_ = Io::Ok;         // Closed or Error once SSL is in a fatal state: every call returns it
  std::string error_;        // the last failure, for debug logs
};

}  // namespace wsd::daemon
