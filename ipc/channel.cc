#include "ipc/channel.h"

#include <cerrno>
#include <sys/uio.h>
#include <unistd.h>

namespace wsd::ipc {

namespace {
// Holds a 64 KiB message and the next ones without growing.
constexpr size_t kInitialInput = 256 * 1024;
// A message this large, with nothing queued before it, goes out at once with
// writev from the caller's memory: the copy into out_ would cost more than
// the system call saves by batching.
constexpr size_t kDirectWriteAt = 16 * 1024;
// Above this, written-out bytes at the front of out_ are dropped in one go
// rather than after every flush (erase from the front is a memmove).
constexpr size_t kCompactOutputAt = 256 * 1024;
}  // namespace

Channel::Channel(int fd, size_t max_message) : fd_(fd), max_message_(max_message), in_(kInitialInput) {}

Channel::~Channel() {
  if (fd_ >= 0) ::close(fd_);
}

void Channel::append(MessageType type, uint64_t conn, uint16_t aux, uint8_t flags,
                     std::string_view payload, std::string_view payload2) {
  MessageHeader h;
  h.size = static_cast<uint32_t>(kHeaderSize + payload.size() + payload2.size());
  h.type = type;
  h.flags = flags;
  h.aux = aux;
  h.conn = conn;
  size_t written = 0;
  if (h.size >= kDirectWriteAt && pending() == 0 && !broken_) {
    iovec iov[3] = {{&h, kHeaderSize},
                    {const_cast<char*>(payload.data()), payload.size()},
                    {const_cast<char*>(payload2.data()), payload2.size()}};
    ssize_t n;
    do {
      n = ::writev(fd_, iov, payload2.empty() ? 2 : 3);
    } while (n < 0 && errno == EINTR);
    if (n == static_cast<ssize_t>(h.size)) return;
    // The socket took part (or none, or failed: flush() reports that): the
    // whole message is queued with its written part already behind out_head_,
    // so message boundaries stay where take_unsent expects them.
    if (n > 0) written = static_cast<size_t>(n);
    out_.clear();
    out_head_ = boundary_ = 0;
  }
  out_.append(reinterpret_cast<const char*>(&h), kHeaderSize);
  out_.append(payload.data(), payload.size());
  out_.append(payload2.data(), payload2.size());
  out_head_ += written;
}

Channel::IoResult Channel::flush() {
  while (out_head_ < out_.size()) {
    ssize_t n = ::write(fd_, out_.data() + out_head_, out_.size() - out_head_);
    if (n > 0) {
      out_head_ += static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      advance_boundary();
      if (boundary_ >= kCompactOutputAt) {
        out_.erase(0, boundary_);
        out_head_ -= boundary_;
        boundary_ = 0;
      }
      return IoResult::WouldBlock;
    }
    advance_boundary();
    return errno == EPIPE || errno == ECONNRESET ? IoResult::Closed : IoResult::Error;
  }
  out_.clear();
  out_head_ = 0;
  boundary_ = 0;
  return IoResult::Ok;
}

// Walks the message headers from the last known boundary past every message
// that has wholly left.
void Channel::advance_boundary() {
  while (boundary_ + kHeaderSize <= out_.size()) {
    MessageHeader h;
    std::memcpy(&h, out_.data() + boundary_, kHeaderSize);
    if (boundary_ + h.size > out_head_) break;
    boundary_ += h.size;
  }
}

std::string Channel::take_unsent(size_t& dropped) {
  advance_boundary();
  size_t from = boundary_;
  dropped = 0;
  if (from < out_head_) {
    // The peer got the start of this message: it is lost with the peer.
    MessageHeader h;
    std::memcpy(&h, out_.data() + from, kHeaderSize);
    from += h.size;
    dropped = 1;
  }
  std::string rest = from < out_.size() ? out_.substr(from) : std::string();
  out_.clear();
  out_head_ = 0;
  boundary_ = 0;
  return rest;
}

void Channel::prepend_pending(std::string_view bytes) {
  out_.insert(out_head_, bytes.data(), bytes.size());
}

Channel::IoResult Channel::fill() {
  if (broken_) return IoResult::Error;
  if (in_tail_ == in_.size()) return IoResult::Ok;  // full: parse first
  for (;;) {
    ssize_t n = ::read(fd_, in_.data() + in_tail_, in_.size() - in_tail_);
    if (n > 0) {
      in_tail_ += static_cast<size_t>(n);
      return in_tail_ == in_.size() ? IoResult::Ok : IoResult::WouldBlock;
    }
    if (n == 0) return IoResult::Closed;
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return IoResult::WouldBlock;
    return IoResult::Error;
  }
}

void Channel::compact() {
  if (in_head_ == in_tail_) {
    in_head_ = in_tail_ = 0;
    // A huge message grew the buffer; give the memory back once it is gone.
    if (in_.size() > 4 * kInitialInput) {
      in_.resize(kInitialInput);
      in_.shrink_to_fit();
    }
    return;
  }
  if (in_head_ == 0) return;
  // A partial message stays where it is while the rest of it fits behind it
  // (no memmove per read of a large message); otherwise it moves to the front.
  size_t have = in_tail_ - in_head_;
  if (have >= kHeaderSize) {
    MessageHeader h;
    std::memcpy(&h, in_.data() + in_head_, kHeaderSize);
    if (in_head_ + h.size <= in_.size()) return;
  }
  std::memmove(in_.data(), in_.data() + in_head_, have);
  in_tail_ = have;
  in_head_ = 0;
}

}  // namespace wsd::ipc
