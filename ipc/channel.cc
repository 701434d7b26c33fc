#include "ipc/channel.h"

#include <cerrno>
#include <sys/socket.h>
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

MessageHeader header_for(MessageType type, uint64_t conn, uint16_t aux, uint8_t flags, size_t payload_size) {
  MessageHeader h;
  h.size = static_cast<uint32_t>(kHeaderSize + payload_size);
  h.type = type;
  h.flags = flags;
  h.aux = aux;
  h.conn = conn;
  return h;
}
}  // namespace

Channel::Channel(int fd, size_t max_message, size_t ring_capacity)
    : fd_(fd), max_message_(max_message), in_(kInitialInput), ring_capacity_(ring_capacity) {}

Channel::~Channel() {
  if (fd_ >= 0) ::close(fd_);
  for (int f : received_fds_) ::close(f);
}

void Channel::append(MessageType type, uint64_t conn, uint16_t aux, uint8_t flags,
                     std::string_view payload, std::string_view payload2) {
  if (payload.size() + payload2.size() >= kSharedRingAt &&
      (lend_back(type, conn, aux, flags, payload, payload2) ||
       append_in_ring(type, conn, aux, flags, payload, payload2)))
    return;
  MessageHeader h = header_for(type, conn, aux, flags, payload.size() + payload2.size());
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
  queue(type, conn, aux, flags, payload, payload2);
  out_head_ += written;
}

void Channel::queue(MessageType type, uint64_t conn, uint16_t aux, uint8_t flags, std::string_view payload,
                    std::string_view payload2) {
  MessageHeader h = header_for(type, conn, aux, flags, payload.size() + payload2.size());
  out_.append(reinterpret_cast<const char*>(&h), kHeaderSize);
  out_.append(payload.data(), payload.size());
  out_.append(payload2.data(), payload2.size());
}

// The payload into the shared ring, a reference into the queue. False (the
// caller sends it inline) when reserve_payload finds no room.
bool Channel::append_in_ring(MessageType type, uint64_t conn, uint16_t aux, uint8_t flags,
                             std::string_view payload, std::string_view payload2) {
  const size_t size = payload.size() + payload2.size();
  uint64_t pos = 0;
  char* dst = reserve_payload(size, pos);
  if (!dst) return false;
  std::memcpy(dst, payload.data(), payload.size());
  if (!payload2.empty()) std::memcpy(dst + payload.size(), payload2.data(), payload2.size());
  append_reserved(type, conn, aux, flags, pos, size);
  return true;
}

char* Channel::reserve_payload(size_t size, uint64_t& pos) {
  if (ring_capacity_ == 0 || broken_ || size < kSharedRingAt || size > ring_capacity_ / 4 || size > max_message_)
    return nullptr;
  if (!out_ring_) {
    out_ring_ = SharedRing::create(ring_capacity_);
    if (!out_ring_) {
      ring_capacity_ = 0;  // no memfd here: the socket carries everything
      return nullptr;
    }
    // The peer maps the ring when this message arrives; flush() sends it
    // with the memfd attached.
    ring_attach_at_ = out_.size();
    queue(MessageType::RingAttach, 0, 0, 0, {}, {});
  }
  return out_ring_->reserve(size, pos);
}

void Channel::append_reserved(MessageType type, uint64_t conn, uint16_t aux, uint8_t flags, uint64_t pos,
                              size_t size) {
  queue_ref(type, conn, aux, flags, RingRef{pos, static_cast<uint32_t>(size), 0});
}

void Channel::queue_ref(MessageType type, uint64_t conn, uint16_t aux, uint8_t flags, const RingRef& ref) {
  queue(static_cast<MessageType>(static_cast<uint8_t>(type) | kInSharedRing), conn, aux, flags,
        std::string_view(reinterpret_cast<const char*>(&ref), sizeof ref), {});
}

// A payload that lies in the peer's ring, inside the message being read (a
// plugin sending back what it got): the peer gets the region's place in its
// own ring instead of a copy, and the region is held until it returns it.
bool Channel::lend_back(MessageType type, uint64_t conn, uint16_t aux, uint8_t flags, std::string_view payload,
                        std::string_view payload2) {
  if (!reading_.data || !payload2.empty() || broken_) return false;
  if (payload.data() < reading_.data || payload.data() + payload.size() > reading_.data + reading_.size)
    return false;
  const uint64_t pos = reading_.pos + static_cast<uint64_t>(payload.data() - reading_.data);
  // The hold covers the whole region, whatever slice of it goes back: a later
  // slice lent first must not leave an earlier one unprotected.
  in_ring_->lend(reading_.pos);
  queue_ref(type, conn, aux, flags, RingRef{pos, static_cast<uint32_t>(payload.size()), 1});
  return true;
}

// Writes from the RingAttach message on, with the ring's memfd riding on its
// first byte.
ssize_t Channel::send_ring_fd(size_t end) {
  iovec iov{out_.data() + out_head_, end - out_head_};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  msghdr m{};
  m.msg_iov = &iov;
  m.msg_iovlen = 1;
  m.msg_control = control;
  m.msg_controllen = sizeof control;
  cmsghdr* c = CMSG_FIRSTHDR(&m);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(int));
  int fd = out_ring_->fd();
  std::memcpy(CMSG_DATA(c), &fd, sizeof fd);
  ssize_t n = ::sendmsg(fd_, &m, MSG_NOSIGNAL);
  if (n > 0) {
    ring_attach_at_ = kNoAttach;
    out_ring_->close_fd();  // the peer has its own descriptor now
  }
  return n;
}

Channel::IoResult Channel::flush() {
  while (out_head_ < out_.size()) {
    ssize_t n;
    if (ring_attach_at_ == out_head_) {
      n = send_ring_fd(out_.size());
    } else {
      // Up to a RingAttach not yet sent: its fd must go with its first byte.
      size_t end = ring_attach_at_ != kNoAttach ? ring_attach_at_ : out_.size();
      n = ::write(fd_, out_.data() + out_head_, end - out_head_);
    }
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
        if (ring_attach_at_ != kNoAttach) ring_attach_at_ -= boundary_;
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
    dropped = h.type == MessageType::RingAttach ? 0 : 1;
  }
  std::string rest;
  while (from + kHeaderSize <= out_.size()) {
    MessageHeader h;
    std::memcpy(&h, out_.data() + from, kHeaderSize);
    std::string_view payload(out_.data() + from + kHeaderSize, h.size - kHeaderSize);
    from += h.size;
    if (h.type == MessageType::RingAttach) continue;  // the successor sends its own
    if (static_cast<uint8_t>(h.type) & kInSharedRing) {
      RingRef ref;
      std::memcpy(&ref, payload.data(), sizeof ref);
      // Our own ring, or the peer's region lent back (held until returned,
      // which the peer now never will: the ring goes with this channel).
      const SharedRing& ring = ref.lent ? *in_ring_ : *out_ring_;
      payload = std::string_view(ring.region(ref.pos, ref.size), ref.size);
      h.type = static_cast<MessageType>(static_cast<uint8_t>(h.type) & ~kInSharedRing);
      h.size = static_cast<uint32_t>(kHeaderSize + ref.size);
    }
    rest.append(reinterpret_cast<const char*>(&h), kHeaderSize);
    rest.append(payload);
  }
  out_.clear();
  out_head_ = 0;
  boundary_ = 0;
  ring_attach_at_ = kNoAttach;
  return rest;
}

void Channel::prepend_pending(std::string_view bytes) {
  out_.insert(out_head_, bytes.data(), bytes.size());
  if (ring_attach_at_ != kNoAttach && ring_attach_at_ >= out_head_) ring_attach_at_ += bytes.size();
}

// The peer's RingAttach: the first descriptor that came with the stream.
bool Channel::attach_in_ring() {
  if (received_fds_.empty()) return false;
  int fd = received_fds_.front();
  received_fds_.pop_front();
  in_ring_ = SharedRing::attach(fd);
  return in_ring_ != nullptr;
}

bool Channel::resolve_ring(MessageHeader& h, std::string_view& payload, RingRef& ref) const {
  if (payload.size() != sizeof ref) return false;
  std::memcpy(&ref, payload.data(), sizeof ref);
  const SharedRing* ring = ref.lent ? out_ring_.get() : in_ring_.get();
  if (!ring || ref.lent > 1 || ref.size > max_message_) return false;
  const char* p = ring->region(ref.pos, ref.size);
  if (!p) return false;
  h.type = static_cast<MessageType>(static_cast<uint8_t>(h.type) & ~kInSharedRing);
  h.size = static_cast<uint32_t>(kHeaderSize + ref.size);
  payload = std::string_view(p, ref.size);
  return true;
}

void Channel::begin_ring_message(const RingRef& ref, std::string_view payload) {
  if (!ref.lent) reading_ = {payload.data(), payload.size(), ref.pos};
}

void Channel::end_ring_message(const RingRef& ref) {
  if (ref.lent) {
    out_ring_->return_loan();
  } else {
    reading_ = {};
    in_ring_->release(ref.pos + ref.size);
  }
}

void Channel::keep_received_fds(const msghdr& m) {
  for (const cmsghdr* c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(const_cast<msghdr*>(&m), const_cast<cmsghdr*>(c))) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
    size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    for (size_t i = 0; i < count; ++i) {
      int fd;
      std::memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof fd);
      // More than a peer could have meant to send: not ours to keep.
      if (received_fds_.size() >= 4) {
        ::close(fd);
        continue;
      }
      received_fds_.push_back(fd);
    }
  }
}

Channel::IoResult Channel::fill() {
  if (broken_) return IoResult::Error;
  if (in_tail_ == in_.size()) return IoResult::Ok;  // full: parse first
  for (;;) {
    // recvmsg rather than read: a RingAttach brings a descriptor along.
    iovec iov{in_.data() + in_tail_, in_.size() - in_tail_};
    alignas(cmsghdr) char control[CMSG_SPACE(4 * sizeof(int))];
    msghdr m{};
    m.msg_iov = &iov;
    m.msg_iovlen = 1;
    m.msg_control = control;
    m.msg_controllen = sizeof control;
    ssize_t n = ::recvmsg(fd_, &m, MSG_CMSG_CLOEXEC);
    if (n > 0 && m.msg_controllen > 0) keep_received_fds(m);
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
