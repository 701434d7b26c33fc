// The project's own WebSocket client for integration tests: blocking sockets
// with a timeout on every wait, masked client frames, and the reader of
// core/ (client side) to take the server's frames apart.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <openssl/types.h>

#include "core/message_reader.h"
#include "core/permessage_deflate.h"

namespace wsd::test {

struct Received {
  enum Kind { Message, Ping, Pong, Close, Error, Timeout, Eof } kind = Timeout;
  uint8_t opcode = 0;
  std::string data;
  uint16_t code = 0;       // Close: code; Error: the code our reader wanted
  std::string reason;
  bool compressed = false;
};

struct HttpReply {
  int status = 0;
  std::map<std::string, std::string> headers;   // lower-case names
  std::string body;
};

class WsClient {
 public:
  explicit WsClient(std::chrono::milliseconds timeout = std::chrono::milliseconds(5000));
  ~WsClient();

  bool connect(uint16_t port, const std::string& host = "127.0.0.1");
  // Bytes written right after the TCP connect of the next connect() or
  // connect_tls(), in a write of their own, before TLS and HTTP: a PROXY
  // protocol header, as a load balancer sends it. Used once. With `coalesce`
  // the bytes are held back (MSG_MORE) to leave in one TCP segment with what
  // is written next (the TLS ClientHello, the HTTP request).
  void set_preamble(std::string bytes, bool coalesce = false) {
    preamble_ = std::move(bytes);
    preamble_coalesce_ = coalesce;
  }
  // connect, then a TLS handshake (blocking SSL over the blocking socket, every
  // wait bounded by the timeout) verifying the server against the PEM CA file
  // `ca_file` and the name 127.0.0.1. With `client_cert`/`client_key` (PEM
  // files) it presents a client certificate. `max_version` (e.g.
  // TLS1_1_VERSION) caps the versions offered; below TLS 1.2 the client also
  // drops its own security level so that it really offers the old version and
  // the refusal comes from the server. False when the handshake fails
  // (tls_error() says why). Every later read and write goes through TLS.
  bool connect_tls(uint16_t port, const std::string& ca_file, const std::string& client_cert = {},
                   const std::string& client_key = {}, int max_version = 0);
  // open() over TLS: connect_tls + handshake; true on 101.
  bool open_tls(uint16_t port, const std::string& ca_file, const std::string& path = "/",
                const std::vector<std::string>& extra_headers = {}, bool offer_deflate = false);
  bool tls() const { return ssl_ != nullptr; }
  // The negotiated version ("TLSv1.3"); "" without TLS.
  std::string tls_version() const;
  // The server certificate's serial number (hex) and subject (one line); "" without TLS.
  std::string peer_cert_serial() const;
  std::string peer_cert_subject() const;
  // Why the last TLS handshake or I/O failed (OpenSSL's reasons); "" if it did not.
  const std::string& tls_error() const { return tls_error_; }
  // Sends close_notify (SSL_shutdown, once, without waiting for the server's);
  // false without TLS or when it could not be sent.
  bool tls_shutdown();
  // TLS 1.2 only: asks the server for a renegotiation and drives it (bounded);
  // true if it completed. wsd refuses renegotiation.
  bool tls_renegotiate();
  // TLS 1.3 only: sends a KeyUpdate (asking the server to update its keys
  // too when `request_peer`); it leaves with the next write.
  bool tls_key_update(bool request_peer = true);
  // True once the server's close_notify was read (a clean TLS end).
  bool got_close_notify() const { return close_notify_; }
  // Sends an upgrade request for `path` with extra header lines
  // ("Sec-WebSocket-Protocol: chat"); returns the server's HTTP answer.
  // Status 101 switches the client to frames.
  // `pipelined` bytes (e.g. frame_bytes()) leave in the same write as the
  // request, before the server's answer.
  HttpReply handshake(const std::string& path = "/", const std::vector<std::string>& extra_headers = {},
                      bool offer_deflate = false, const std::string& pipelined = {});
  // connect + handshake; true on 101.
  bool open(uint16_t port, const std::string& path = "/", const std::vector<std::string>& extra_headers = {},
            bool offer_deflate = false);

  // Raw bytes, as they are.
  bool send_raw(const std::string& bytes);
  // One frame, masked with a random key (unless masked = false).
  bool send_frame(uint8_t opcode, const std::string& payload, bool fin = true, bool masked = true,
                  bool rsv1 = false);
  // The bytes of one client frame, masked with a random key (unless masked = false).
  static std::string frame_bytes(uint8_t opcode, const std::string& payload, bool fin = true, bool masked = true,
                                 bool rsv1 = false);
  bool send_text(const std::string& s) { return send_frame(1, s); }
  bool send_binary(const std::string& s) { return send_frame(2, s); }
  // A compressed message (needs a negotiated deflate).
  bool send_compressed(uint8_t opcode, const std::string& payload);
  bool send_close(uint16_t code, const std::string& reason = {});

  // The next message or control frame (or Close/Error/Eof/Timeout).
  Received receive();
  // Reads until EOF (bounded); true if the server closed the TCP connection.
  bool wait_eof();

  // A plain HTTP/1.1 request on this connection (the answer's body is read
  // by its Content-Length, except when the request text starts with HEAD).
  // An empty request text reads the next answer.
  HttpReply http(const std::string& request_text);

  // The timeout of every later wait (e.g. short, to check that nothing comes).
  void set_timeout(std::chrono::milliseconds t) { timeout_ = t; }
  // This end's local port (getsockname), 0 if not connected.
  uint16_t local_port() const;

  const std::optional<core::DeflateParams>& deflate() const { return deflate_; }
  int fd() const { return fd_; }
  void close();

 private:
  class Sink;
  bool fill();   // one read (with timeout) into pending_; false on EOF/timeout
  std::string read_http_head(std::string& rest);
  std::chrono::milliseconds timeout_;
  int fd_ = -1;
  bool eof_ = false;
  std::string inbuf_;
  std::vector<Received> queue_;
  core::ReaderOptions reader_options_;
  std::unique_ptr<core::MessageReader> reader_;
  std::optional<core::DeflateParams> deflate_;
  std::unique_ptr<core::Inflater> inflater_;
  std::unique_ptr<core::Deflater> deflater_;
  SSL_CTX* ssl_ctx_ = nullptr;
  SSL* ssl_ = nullptr;
  std::string tls_error_;
  bool close_notify_ = false;
  std::string preamble_;
  bool preamble_coalesce_ = false;
};

}  // namespace wsd::test
