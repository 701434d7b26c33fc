#include "bench/loadgen/connection.h"

#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "bench/loadgen/net.h"
#include "bench/loadgen/worker_thread.h"
#include "core/frame.h"
#include "core/mask.h"

namespace wsd::loadgen {

namespace {

// Shared by every connection; client side, so server frames are unmasked.
const core::ReaderOptions kReaderOptions{
    .max_message_size = uint64_t{1} << 31,
    .expect_masked = false,
};

// Reads per readiness event before yielding to other connections.
constexpr int kReadsPerEvent = 4;

}  // namespace

Connection::Connection() : reader_(kReaderOptions) {}

// ---- Connecting ---------------------------------------------------------------

void Connection::start(WorkerThread& worker, Role role, const sockaddr_in& dst,
                       const sockaddr_in* src) {
  worker_ = &worker;
  role_ = role;
  started_ns_ = worker.now();
  worker.stats().live.add();
  int err = 0;
  bool connected = false;
  fd_ = connect_nonblocking(dst, src, err, connected);
  state_ = State::Connecting;
  if (fd_ < 0) return kill(ErrorKind::Connect);
  worker.poll_add(fd_, EPOLLOUT, this);
  if (connected) on_connected();
}

void Connection::on_connected() {
  int err = 0;
  socklen_t len = sizeof err;
  if (getsockopt(fd_, SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err != 0) {
    return kill(ErrorKind::Connect);
  }
  state_ = State::Handshake;
  // Edge-triggered from now on, both ways, for the connection's life: the
  // loop then serves connections in the order their data arrived. With
  // level-triggered epoll a socket keeps its place in the ready list from
  // the pass before, so answers left in a stale order and the measured
  // round trips carried that shuffle (p99 twice the p50 against a server
  // as fast as the generator). No interest changes later: an EPOLLOUT edge
  // comes after a send met a full buffer and room was made.
  worker_->poll_mod(fd_, EPOLLIN | EPOLLOUT | EPOLLET, this);
  send_upgrade();
}

void Connection::send_upgrade() {
  uint8_t key[16];
  for (int i = 0; i < 16; i += 8) {
    const uint64_t r = worker_->random();
    std::memcpy(key + i, &r, 8);
  }
  std::string& request = worker_->text_scratch();
  make_upgrade_request(worker_->run().host_header, worker_->options().path, key, request, accept_);
  std::memcpy(out_.append(request.size()), request.data(), request.size());
  flush();
}

// Edge-triggered: reads until the answer is complete or the socket is empty.
void Connection::read_handshake() {
  uint8_t* buf = worker_->scratch();
  size_t head_len = 0;
  for (bool complete = false; !complete;) {
    const ssize_t n = ::read(fd_, buf, worker_->scratch_size());
    if (n == 0) return kill(ErrorKind::Handshake);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN) return;
      return kill(ErrorKind::Handshake);
    }
    head_.append(reinterpret_cast<const char*>(buf), static_cast<size_t>(n));
    switch (check_upgrade_response(head_, std::string_view(accept_, kAcceptKeySize), head_len)) {
      case HandshakeStatus::Incomplete:
        break;
      case HandshakeStatus::Refused:
        return kill(ErrorKind::Handshake);
      case HandshakeStatus::Ok:
        complete = true;
        break;
    }
  }
  // Frames that came with the answer: move them to the scratch buffer (the
  // reader unmasks in place and may deliver straight from it).
  const size_t rest = head_.size() - head_len;
  std::memcpy(buf, head_.data() + head_len, rest);
  std::string().swap(head_);
  state_ = State::Open;
  worker_->stats().opened.add();
  worker_->on_open(*this);
  if (rest && state_ == State::Open) feed(buf, rest);
  // The read that completed the answer may have left frames or a FIN behind
  // it, which (edge-triggered) would not be reported again.
  if (state_ == State::Open) worker_->read_again(*this);
}

// ---- Open -------------------------------------------------------------------

void Connection::on_events(uint32_t events) {
  switch (state_) {
    case State::Connecting:
      if (events & (EPOLLOUT | EPOLLERR | EPOLLHUP)) on_connected();
      return;
    case State::Handshake:
      if (events & EPOLLOUT) flush();
      if (state_ == State::Handshake && (events & (EPOLLIN | EPOLLERR | EPOLLHUP))) read_handshake();
      return;
    case State::Open:
    case State::Closing:
      if (events & EPOLLOUT) flush();
      if (state_ != State::Closed && (events & (EPOLLIN | EPOLLERR | EPOLLHUP))) read_frames();
      // The answers to what was just read leave now, in one write, rather
      // than after every other connection's read: the server gets work
      // sooner, and one generator thread keeps up with a pipelined server.
      if (state_ != State::Closed && !out_.empty()) flush();
      return;
    case State::Unused:
    case State::Closed:
      return;
  }
}

// Reads until the socket is empty (a short read) or the budget is spent.
// Edge-triggered, what is left then brings no new event: the worker calls
// again after this iteration.
void Connection::read_frames() {
  uint8_t* buf = worker_->scratch();
  const size_t cap = worker_->scratch_size();
  for (int i = 0; i < kReadsPerEvent; ++i) {
    const ssize_t n = ::read(fd_, buf, cap);
    if (n == 0) return kill(ErrorKind::Reset);
    if (n < 0) {
      if (errno == EAGAIN) return;
      if (errno == EINTR) continue;
      return kill(ErrorKind::Reset);
    }
    worker_->touch_now();
    feed(buf, static_cast<size_t>(n));
    if (state_ == State::Closed || static_cast<size_t>(n) < cap) return;
  }
  worker_->read_again(*this);
}

void Connection::feed(uint8_t* data, size_t len) { reader_.feed(data, len, *this); }

uint8_t* Connection::begin_message(core::Opcode op, size_t len) {
  const size_t room = core::frame_header_size(len, true);
  uint8_t* p = out_.append(room + len);
  const uint32_t key = static_cast<uint32_t>(worker_->random());
  uint8_t mask[4];
  std::memcpy(mask, &key, 4);
  const size_t header = core::write_frame_header(p, static_cast<uint8_t>(op), true, false, len, mask);
  return p + header;
}

void Connection::commit_message(uint8_t* payload, size_t len) {
  core::apply_mask(payload, len, payload - 4);  // the key ends the header
  worker_->stats().sent_msgs.add();
  worker_->stats().sent_bytes.add(len);
  worker_->mark_dirty(*this);
}

void Connection::queue_control(core::Opcode op, const uint8_t* data, size_t len) {
  uint8_t* p = begin_message(op, len);
  if (len) std::memcpy(p, data, len);
  core::apply_mask(p, len, p - 4);
  worker_->mark_dirty(*this);
}

void Connection::flush() {
  while (!out_.empty()) {
    const ssize_t n = ::send(fd_, out_.data(), out_.size(), MSG_NOSIGNAL);
    if (n > 0) {
      out_.consume(static_cast<size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) return;  // the next EPOLLOUT edge calls again
    return kill(ErrorKind::Write);
  }
}

// ---- Closing ----------------------------------------------------------------

void Connection::close_normally() {
  if (state_ != State::Open) return;
  const uint8_t code[2] = {1000 >> 8, 1000 & 0xFF};
  queue_control(core::Opcode::Close, code, 2);
  state_ = State::Closing;
}

void Connection::abort(ErrorKind why) { kill(why); }

void Connection::kill(ErrorKind why) {
  if (state_ == State::Closed) return;
  if (why != ErrorKind::kCount) worker_->stats().error(why);
  if (pending()) worker_->stats().failed.add();
  state_ = State::Closed;
  worker_->mark_dead(*this);
}

void Connection::finish() {
  if (fd_ >= 0) {
    if (!out_.empty()) (void)::send(fd_, out_.data(), out_.size(), MSG_NOSIGNAL);  // a last close frame
    ::close(fd_);
    fd_ = -1;
  }
  out_.consume(out_.size());
  out_.release();
  std::string().swap(head_);
  worker_->stats().live.sub();
}

// ---- Frames -----------------------------------------------------------------

void Connection::on_message(core::Opcode opcode, const uint8_t* data, size_t len, bool) {
  // After our close frame, echoes still in flight are not the mode's business.
  if (state_ == State::Open) worker_->mode().on_message(*worker_, *this, opcode, data, len);
}

void Connection::on_ping(const uint8_t* data, size_t len) {
  if (state_ == State::Open) queue_control(core::Opcode::Pong, data, len);
}

void Connection::on_close(uint16_t code, std::string_view) {
  if (state_ == State::Closing) {
    worker_->stats().closed_clean.add();
    return kill(ErrorKind::kCount);
  }
  // The server closed first: answer (RFC 6455 §5.5.1) and count it.
  const uint8_t reply[2] = {static_cast<uint8_t>(code >> 8), static_cast<uint8_t>(code)};
  queue_control(core::Opcode::Close, reply, code == 1005 ? 0 : 2);
  kill(ErrorKind::ServerClose);
}

void Connection::on_error(uint16_t code, std::string_view) {
  const uint8_t reply[2] = {static_cast<uint8_t>(code >> 8), static_cast<uint8_t>(code)};
  queue_control(core::Opcode::Close, reply, 2);
  kill(ErrorKind::Protocol);
}

}  // namespace wsd::loadgen
