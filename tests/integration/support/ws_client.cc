#include "ws_client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <random>

#include "core/frame.h"
#include "core/mask.h"

namespace wsd::test {

class WsClient::Sink : public core::MessageSink {
 public:
  explicit Sink(std::vector<Received>& q) : q_(q) {}
  void on_message(core::Opcode op, const uint8_t* d, size_t n, bool compressed) override {
    Received r;
    r.kind = Received::Message;
    r.opcode = static_cast<uint8_t>(op);
    r.data.assign(reinterpret_cast<const char*>(d), n);
    r.compressed = compressed;
    q_.push_back(std::move(r));
  }
  void on_ping(const uint8_t* d, size_t n) override { push(Received::Ping, 9, d, n); }
  void on_pong(const uint8_t* d, size_t n) override { push(Received::Pong, 10, d, n); }
  void on_close(uint16_t code, std::string_view reason) override {
    Received r;
    r.kind = Received::Close;
    r.opcode = 8;
    r.code = code;
    r.reason.assign(reason);
    q_.push_back(std::move(r));
  }
  void on_error(uint16_t code, std::string_view why) override {
    Received r;
    r.kind = Received::Error;
    r.code = code;
    r.reason.assign(why);
    q_.push_back(std::move(r));
  }

 private:
  void push(Received::Kind k, uint8_t op, const uint8_t* d, size_t n) {
    Received r;
    r.kind = k;
    r.opcode = op;
    r.data.assign(reinterpret_cast<const char*>(d), n);
    q_.push_back(std::move(r));
  }
  std::vector<Received>& q_;
};

WsClient::WsClient(std::chrono::milliseconds timeout) : timeout_(timeout) {
  reader_options_.expect_masked = false;
  reader_options_.max_message_size = 64ull << 20;
}

WsClient::~WsClient() { close(); }

void WsClient::close() {
  // No close_notify here: tls_shutdown() sends it when a test wants a clean end.
  if (ssl_ != nullptr) SSL_free(ssl_);
  if (ssl_ctx_ != nullptr) SSL_CTX_free(ssl_ctx_);
  ssl_ = nullptr;
  ssl_ctx_ = nullptr;
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

namespace {
// The calling thread's OpenSSL error queue as one line (and empties it).
std::string openssl_errors() {
  std::string out;
  while (unsigned long e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    if (!out.empty()) out += "; ";
    out += buf;
  }
  return out;
}
}  // namespace

bool WsClient::connect_tls(uint16_t port, const std::string& ca_file, const std::string& client_cert,
                           const std::string& client_key, int max_version) {
  ERR_clear_error();
  tls_error_.clear();
  close_notify_ = false;
  if (!connect(port)) {
    tls_error_ = "connect failed";
    return false;
  }
  // Reads through SSL may block inside SSL_read on a partial record: bound them too.
  timeval tv{static_cast<time_t>(timeout_.count() / 1000), static_cast<suseconds_t>((timeout_.count() % 1000) * 1000)};
  setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  auto fail = [this](const std::string& what) {
    std::string why = openssl_errors();
    tls_error_ = what + (why.empty() ? "" : ": " + why);
    if (ssl_ != nullptr) {
      long v = SSL_get_verify_result(ssl_);
      if (v != X509_V_OK) tls_error_ += std::string(" (verify: ") + X509_verify_cert_error_string(v) + ")";
    }
    return false;
  };
  ssl_ctx_ = SSL_CTX_new(TLS_client_method());
  if (ssl_ctx_ == nullptr) return fail("SSL_CTX_new");
  if (max_version != 0) {
    if (max_version < TLS1_2_VERSION) {
      // OpenSSL 3 refuses TLS 1.0/1.1 at security level 1 and above: without
      // this the client would not even offer them and the server would never
      // be asked.
      SSL_CTX_set_security_level(ssl_ctx_, 0);
      SSL_CTX_set_min_proto_version(ssl_ctx_, TLS1_VERSION);
    }
    SSL_CTX_set_max_proto_version(ssl_ctx_, max_version);
  }
  SSL_CTX_set_verify(ssl_ctx_, SSL_VERIFY_PEER, nullptr);
  if (SSL_CTX_load_verify_locations(ssl_ctx_, ca_file.c_str(), nullptr) != 1) return fail("loading CA " + ca_file);
  if (!client_cert.empty()) {
    if (SSL_CTX_use_certificate_chain_file(ssl_ctx_, client_cert.c_str()) != 1) return fail("client certificate");
    if (SSL_CTX_use_PrivateKey_file(ssl_ctx_, (client_key.empty() ? client_cert : client_key).c_str(),
                                    SSL_FILETYPE_PEM) != 1)
      return fail("client key");
  }
  // Reads return after each record that is not data (TLS 1.3 session tickets),
  // so fill() goes back to poll() with its deadline instead of blocking.
  SSL_CTX_clear_mode(ssl_ctx_, SSL_MODE_AUTO_RETRY);
  ssl_ = SSL_new(ssl_ctx_);
  if (ssl_ == nullptr) return fail("SSL_new");
  SSL_set_fd(ssl_, fd_);
  SSL_set1_host(ssl_, "127.0.0.1");   // IP or DNS SAN; both are in the test certificate
  auto deadline = std::chrono::steady_clock::now() + timeout_;
  for (;;) {
    int rc = SSL_connect(ssl_);
    if (rc == 1) return true;
    int err = SSL_get_error(ssl_, rc);
    if ((err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) && std::chrono::steady_clock::now() < deadline)
      continue;   // a socket timeout (SO_RCVTIMEO/SO_SNDTIMEO) or a non-data record: retry until the deadline
    if (err == SSL_ERROR_SYSCALL && ERR_peek_error() == 0)
      return fail(std::string("handshake: connection ended (") + (errno ? std::strerror(errno) : "EOF") + ")");
    return fail("handshake");
  }
}

bool WsClient::open_tls(uint16_t port, const std::string& ca_file, const std::string& path,
                        const std::vector<std::string>& extra, bool offer_deflate) {
  return connect_tls(port, ca_file) && handshake(path, extra, offer_deflate).status == 101;
}

std::string WsClient::tls_version() const { return ssl_ != nullptr ? SSL_get_version(ssl_) : ""; }

std::string WsClient::peer_cert_serial() const {
  if (ssl_ == nullptr) return {};
  X509* cert = SSL_get1_peer_certificate(ssl_);
  if (cert == nullptr) return {};
  std::string out;
  if (BIGNUM* bn = ASN1_INTEGER_to_BN(X509_get_serialNumber(cert), nullptr)) {
    if (char* hex = BN_bn2hex(bn)) {
      out = hex;
      OPENSSL_free(hex);
    }
    BN_free(bn);
  }
  X509_free(cert);
  return out;
}

std::string WsClient::peer_cert_subject() const {
  if (ssl_ == nullptr) return {};
  X509* cert = SSL_get1_peer_certificate(ssl_);
  if (cert == nullptr) return {};
  char buf[512];
  X509_NAME_oneline(X509_get_subject_name(cert), buf, sizeof buf);
  X509_free(cert);
  return buf;
}

bool WsClient::tls_renegotiate() {
  if (ssl_ == nullptr) return false;
  if (SSL_renegotiate(ssl_) != 1) {
    tls_error_ = "renegotiate: " + openssl_errors();
    return false;
  }
  auto deadline = std::chrono::steady_clock::now() + timeout_;
  for (;;) {
    int rc = SSL_do_handshake(ssl_);
    if (rc == 1) return true;
    int err = SSL_get_error(ssl_, rc);
    if ((err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) && std::chrono::steady_clock::now() < deadline)
      continue;
    std::string why = openssl_errors();
    tls_error_ = "renegotiation: " + (why.empty() ? std::string("connection ended") : why);
    return false;
  }
}

bool WsClient::tls_key_update(bool request_peer) {
  if (ssl_ == nullptr) return false;
  if (SSL_key_update(ssl_, request_peer ? SSL_KEY_UPDATE_REQUESTED : SSL_KEY_UPDATE_NOT_REQUESTED) != 1) {
    tls_error_ = "key update: " + openssl_errors();
    return false;
  }
  return true;
}

bool WsClient::tls_shutdown() {
  if (ssl_ == nullptr) return false;
  int rc = SSL_shutdown(ssl_);   // 0: ours sent, the server's not yet read; 1: both
  if (rc < 0) {
    tls_error_ = "shutdown: " + openssl_errors();
    return false;
  }
  return true;
}

bool WsClient::connect(uint16_t port, const std::string& host) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  inet_pton(AF_INET, host.c_str(), &addr.sin_addr);
  fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) return false;
  int one = 1;
  setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  timeval tv{static_cast<time_t>(timeout_.count() / 1000), static_cast<suseconds_t>((timeout_.count() % 1000) * 1000)};
  setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  if (!preamble_.empty()) {
    std::string bytes;
    bytes.swap(preamble_);
    if (!preamble_coalesce_) return send_raw(bytes);
    return ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL | MSG_MORE) == static_cast<ssize_t>(bytes.size());
  }
  return true;
}

uint16_t WsClient::local_port() const {
  sockaddr_in addr{};
  socklen_t len = sizeof addr;
  if (fd_ < 0 || getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) return 0;
  return ntohs(addr.sin_port);
}

bool WsClient::fill() {
  if (eof_ || fd_ < 0) return false;
  char buf[65536];
  if (ssl_ != nullptr) {
    auto deadline = std::chrono::steady_clock::now() + timeout_;
    for (;;) {
      if (SSL_pending(ssl_) == 0) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) return false;
        pollfd p{fd_, POLLIN, 0};
        if (poll(&p, 1, static_cast<int>(left.count())) <= 0) return false;
      }
      int n = SSL_read(ssl_, buf, sizeof buf);
      if (n > 0) {
        inbuf_.append(buf, static_cast<size_t>(n));
        return true;
      }
      int err = SSL_get_error(ssl_, n);
      if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) {
        if (std::chrono::steady_clock::now() >= deadline) return false;
        continue;   // a session ticket, or a record still arriving
      }
      if (err == SSL_ERROR_ZERO_RETURN) {
        close_notify_ = true;
      } else {
        // EOF without close_notify, a reset, or a TLS alert.
        std::string why = openssl_errors();
        tls_error_ = "read: " + (why.empty() ? std::string("connection ended without close_notify") : why);
      }
      eof_ = true;
      return false;
    }
  }
  pollfd p{fd_, POLLIN, 0};
  if (poll(&p, 1, static_cast<int>(timeout_.count())) <= 0) return false;
  ssize_t n = ::read(fd_, buf, sizeof buf);
  if (n <= 0) {
    eof_ = true;
    return false;
  }
  inbuf_.append(buf, static_cast<size_t>(n));
  return true;
}

std::string WsClient::read_http_head(std::string& rest) {
  size_t end;
  while ((end = inbuf_.find("\r\n\r\n")) == std::string::npos) {
    if (!fill()) return {};
  }
  std::string head = inbuf_.substr(0, end + 4);
  rest = inbuf_.substr(end + 4);
  inbuf_.clear();
  return head;
}

namespace {
HttpReply parse_head(const std::string& head) {
  HttpReply r;
  if (head.size() < 12) return r;
  r.status = std::atoi(head.c_str() + 9);
  size_t pos = head.find("\r\n") + 2;
  while (pos < head.size()) {
    size_t eol = head.find("\r\n", pos);
    if (eol == std::string::npos || eol == pos) break;
    std::string line = head.substr(pos, eol - pos);
    size_t colon = line.find(':');
    if (colon != std::string::npos) {
      std::string name = line.substr(0, colon);
      std::transform(name.begin(), name.end(), name.begin(), ::tolower);
      std::string value = line.substr(colon + 1);
      while (!value.empty() && value.front() == ' ') value.erase(0, 1);
      if (r.headers.count(name)) r.headers[name] += ", " + value; else r.headers[name] = value;
    }
    pos = eol + 2;
  }
  return r;
}
}  // namespace

HttpReply WsClient::handshake(const std::string& path, const std::vector<std::string>& extra, bool offer_deflate,
                              const std::string& pipelined) {
  std::string req = "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n";
  if (offer_deflate) req += "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n";
  for (const std::string& h : extra) req += h + "\r\n";
  req += "\r\n";
  if (!send_raw(req + pipelined)) return {};
  std::string rest;
  std::string head = read_http_head(rest);
  HttpReply r = parse_head(head);
  if (r.status == 101) {
    auto ext = r.headers.find("sec-websocket-extensions");
    if (ext != r.headers.end()) {
      deflate_ = core::parse_deflate_response(ext->second);
      if (deflate_) {
        inflater_ = std::make_unique<core::Inflater>(deflate_->server_max_window_bits, deflate_->server_no_context_takeover);
        deflater_ = std::make_unique<core::Deflater>(deflate_->client_max_window_bits, deflate_->client_no_context_takeover, 8);
      }
    }
    reader_ = std::make_unique<core::MessageReader>(reader_options_, inflater_.get());
    inbuf_ = rest;
  } else {
    inbuf_ = rest;
    // Read the body if a length was given.
    auto cl = r.headers.find("content-length");
    size_t want = cl == r.headers.end() ? 0 : std::stoul(cl->second);
    while (inbuf_.size() < want && fill()) {}
    r.body = inbuf_.substr(0, want);
    inbuf_.erase(0, std::min(want, inbuf_.size()));
  }
  return r;
}

bool WsClient::open(uint16_t port, const std::string& path, const std::vector<std::string>& extra, bool offer_deflate) {
  return connect(port) && handshake(path, extra, offer_deflate).status == 101;
}

bool WsClient::send_raw(const std::string& bytes) {
  if (ssl_ != nullptr) {
    if (bytes.empty()) return true;
    auto deadline = std::chrono::steady_clock::now() + timeout_;
    for (;;) {
      // Partial writes are off (OpenSSL's default): all of it, or an error.
      int n = SSL_write(ssl_, bytes.data(), static_cast<int>(bytes.size()));
      if (n > 0) return true;
      int err = SSL_get_error(ssl_, n);
      if ((err == SSL_ERROR_WANT_WRITE || err == SSL_ERROR_WANT_READ) && std::chrono::steady_clock::now() < deadline)
        continue;   // SO_SNDTIMEO expired on a full socket: same call again (OpenSSL requires it)
      std::string why = openssl_errors();
      tls_error_ = "write: " + (why.empty() ? std::string(std::strerror(errno)) : why);
      return false;
    }
  }
  size_t off = 0;
  while (off < bytes.size()) {
    ssize_t n = ::send(fd_, bytes.data() + off, bytes.size() - off, MSG_NOSIGNAL);
    if (n <= 0) return false;
    off += static_cast<size_t>(n);
  }
  return true;
}

bool WsClient::send_frame(uint8_t opcode, const std::string& payload, bool fin, bool masked, bool rsv1) {
  return send_raw(frame_bytes(opcode, payload, fin, masked, rsv1));
}

std::string WsClient::frame_bytes(uint8_t opcode, const std::string& payload, bool fin, bool masked, bool rsv1) {
  static std::mt19937 rng(12345);
  uint8_t key[4];
  for (uint8_t& k : key) k = static_cast<uint8_t>(rng());
  uint8_t header[core::kMaxFrameHeaderSize];
  size_t n = core::write_frame_header(header, opcode, fin, rsv1, payload.size(), masked ? key : nullptr);
  std::string frame(reinterpret_cast<char*>(header), n);
  std::string body = payload;
  if (masked) core::apply_mask(reinterpret_cast<uint8_t*>(body.data()), body.size(), key, 0);
  return frame + body;
}

bool WsClient::send_compressed(uint8_t opcode, const std::string& payload) {
  if (!deflater_) return false;
  std::string out;
  if (!deflater_->compress(reinterpret_cast<const uint8_t*>(payload.data()), payload.size(), out)) return false;
  return send_frame(opcode, out, true, true, true);
}

bool WsClient::send_close(uint16_t code, const std::string& reason) {
  return send_frame(8, core::close_payload(code, reason));
}

Received WsClient::receive() {
  Sink sink(queue_);
  while (queue_.empty()) {
    if (!inbuf_.empty() && reader_ && !reader_->stopped()) {
      std::string chunk;
      chunk.swap(inbuf_);
      reader_->feed(reinterpret_cast<uint8_t*>(chunk.data()), chunk.size(), sink);
      if (!queue_.empty()) break;
    }
    if (reader_ && reader_->stopped()) break;
    if (!fill()) {
      Received r;
      r.kind = eof_ ? Received::Eof : Received::Timeout;
      return r;
    }
  }
  if (queue_.empty()) {
    Received r;
    r.kind = Received::Eof;
    return r;
  }
  Received r = std::move(queue_.front());
  queue_.erase(queue_.begin());
  return r;
}

bool WsClient::wait_eof() {
  while (!eof_) {
    if (!fill() && !eof_) return false;
    inbuf_.clear();
  }
  return true;
}

HttpReply WsClient::http(const std::string& request_text) {
  if (!send_raw(request_text)) return {};
  std::string rest;
  std::string head = read_http_head(rest);
  HttpReply r = parse_head(head);
  inbuf_ = rest;
  auto cl = r.headers.find("content-length");
  size_t want = cl == r.headers.end() ? 0 : std::stoul(cl->second);
  if (request_text.rfind("HEAD ", 0) == 0) want = 0;   // a HEAD answer has no body
  while (inbuf_.size() < want && fill()) {}
  r.body = inbuf_.substr(0, std::min(want, inbuf_.size()));
  inbuf_.erase(0, std::min(want, inbuf_.size()));
  return r;
}

}  // namespace wsd::test
