#include "ws_client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
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
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
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
  pollfd p{fd_, POLLIN, 0};
  if (poll(&p, 1, static_cast<int>(timeout_.count())) <= 0) return false;
  char buf[65536];
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
