#include "bench/loadgen/http_publisher.h"

#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>

#include "bench/loadgen/client_handshake.h"
#include "bench/loadgen/net.h"
#include "bench/loadgen/worker_thread.h"

namespace wsd::loadgen {

namespace {

constexpr uint64_t kRetryNs = 100 * kNsPerMs;

void url_encode(std::string_view in, std::string& out) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  for (const char ch : in) {
    const auto c = static_cast<unsigned char>(ch);
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
        c == '-' || c == '.' || c == '_' || c == '~') {
      out += ch;
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
}

bool contains_token(std::string_view value, std::string_view token) {
  for (size_t i = 0; i + token.size() <= value.size(); ++i) {
    size_t k = 0;
    while (k < token.size() && (value[i + k] | 0x20) == token[k]) ++k;
    if (k == token.size()) return true;
  }
  return false;
}

}  // namespace

HttpPublisher::HttpPublisher(WorkerThread& worker, std::string url_prefix)
    : worker_(worker), prefix_(std::move(url_prefix)) {}

HttpPublisher::~HttpPublisher() {
  if (fd_ >= 0) ::close(fd_);
}

bool HttpPublisher::ready() {
  if (state_ == State::Down && worker_.now() >= retry_at_) connect();
  return state_ == State::Ready;
}

void HttpPublisher::connect() {
  int err = 0;
  bool connected = false;
  fd_ = connect_nonblocking(worker_.run().publish_dst, nullptr, err, connected);
  if (fd_ < 0) return drop(true);
  state_ = State::Connecting;
  worker_.poll_add(fd_, EPOLLOUT, this);
}

void HttpPublisher::publish(std::string_view message) {
  request_.assign("GET ").append(prefix_);
  url_encode(message, request_);
  request_.append(" HTTP/1.1\r\nHost: ").append(worker_.run().host_header).append("\r\n\r\n");
  // A request line of a few hundred bytes fits any socket buffer at once.
  const ssize_t n = ::send(fd_, request_.data(), request_.size(), MSG_NOSIGNAL);
  if (n != static_cast<ssize_t>(request_.size())) return drop(true);
  state_ = State::Waiting;
  worker_.stats().sent_msgs.add();
  worker_.stats().sent_bytes.add(message.size());
}

void HttpPublisher::on_events(uint32_t events) {
  switch (state_) {
    case State::Connecting: {
      int err = 0;
      socklen_t len = sizeof err;
      if (getsockopt(fd_, SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err != 0) return drop(true);
      state_ = State::Ready;
      worker_.poll_mod(fd_, EPOLLIN, this);
      return;
    }
    case State::Ready:
    case State::Waiting:
      if (events & (EPOLLIN | EPOLLERR | EPOLLHUP)) read_response();
      return;
    case State::Down:
      return;
  }
}

void HttpPublisher::read_response() {
  uint8_t* buf = worker_.scratch();
  const ssize_t n = ::read(fd_, buf, worker_.scratch_size());
  if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
    return drop(state_ == State::Waiting);  // an idle keep-alive may end quietly
  }
  if (n < 0) return;
  in_.append(reinterpret_cast<const char*>(buf), static_cast<size_t>(n));
  int status = 0;
  bool keep_alive = true;
  if (state_ != State::Waiting || !take_response(status, keep_alive)) return;
  if (status < 200 || status > 299) worker_.stats().error(ErrorKind::Publish);
  state_ = State::Ready;
  if (!keep_alive) drop(false);
}

// Handles Content-Length and chunked bodies (the chunked end is found by its
// "0\r\n\r\n" terminator, enough for short bodies of text).
bool HttpPublisher::take_response(int& status, bool& keep_alive) {
  const size_t head_end = in_.find("\r\n\r\n");
  if (head_end == std::string::npos) return false;
  const std::string_view head(in_.data(), head_end + 2);
  if (!head.starts_with("HTTP/1.")) {
    status = 0;
    in_.clear();
    keep_alive = false;
    return true;
  }
  status = std::atoi(in_.c_str() + 9);
  size_t end = head_end + 4;
  if (contains_token(find_header(head, "Transfer-Encoding"), "chunked")) {
    const size_t term = in_.find("0\r\n\r\n", head_end + 2);
    if (term == std::string::npos) return false;
    end = term + 5;
  } else {
    const std::string_view cl = find_header(head, "Content-Length");
    end += cl.empty() ? 0 : std::strtoull(std::string(cl).c_str(), nullptr, 10);
    if (in_.size() < end) return false;
  }
  keep_alive = !contains_token(find_header(head, "Connection"), "close");
  in_.erase(0, end);
  return true;
}

void HttpPublisher::drop(bool failed) {
  if (failed) worker_.stats().error(ErrorKind::Publish);
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  in_.clear();
  state_ = State::Down;
  retry_at_ = worker_.now() + (failed ? kRetryNs : 0);
}

}  // namespace wsd::loadgen
