// A framed, batching message channel over a non-blocking stream socket
// (one end of a socketpair). Appending queues bytes without a system call;
// flush() writes everything queued in as few writes as the kernel allows, and
// read_messages() drains the socket and hands over every complete message.
// The channel does no event-loop work: its owner decides when to flush and
// watches the fd.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "ipc/message.h"

namespace wsd::ipc {

class Channel {
 public:
  // Takes ownership of `fd` (closed by the destructor). `max_message` bounds
  // one message's size: a peer announcing more is a broken peer.
  Channel(int fd, size_t max_message);
  ~Channel();
  Channel(const Channel&) = delete;
  Channel& operator=(const Channel&) = delete;

  int fd() const { return fd_; }

  // Queues one message (header fields + payload pieces). No system call.
  void append(MessageType type, uint64_t conn, uint16_t aux, uint8_t flags,
              std::string_view payload, std::string_view payload2 = {});

  enum class IoResult { Ok, WouldBlock, Closed, Error };

  // Writes queued bytes until done or the socket is full. Ok = all written.
  IoResult flush();
  // Bytes queued and not yet written.
  size_t pending() const { return out_.size() - out_head_; }

  // Reads what the socket holds (up to a bounded amount per call, so one busy
  // peer cannot starve the loop) and calls on_message(header, payload) for
  // each complete message. Returns Closed on EOF, Error on a broken stream.
  template <typename F>
  IoResult read_messages(F&& on_message);

  // Moves the queued messages that have not started to leave out (for a
  // successor channel when a worker is replaced): a message the old peer got
  // part of is dropped whole, never cut. Returns how many it dropped (0 or 1).
  std::string take_unsent(size_t& dropped);
  void prepend_pending(std::string_view bytes);

 private:
  IoResult fill();   // one read into in_
  void compact();
  void advance_boundary();

  int fd_;
  size_t max_message_;
  std::string out_;
  size_t out_head_ = 0;
  size_t boundary_ = 0;   // start of the first message not wholly written (<= out_head_)
  std::vector<char> in_;
  size_t in_head_ = 0;
  size_t in_tail_ = 0;
  bool broken_ = false;
};

template <typename F>
Channel::IoResult Channel::read_messages(F&& on_message) {
  // Bounded: at most a few reads per call, then the loop gets its turn.
  for (int round = 0; round < 8; ++round) {
    IoResult r = fill();
    while (in_tail_ - in_head_ >= kHeaderSize) {
      MessageHeader h;
      std::memcpy(&h, in_.data() + in_head_, kHeaderSize);
      if (h.size < kHeaderSize || h.size > max_message_ + kHeaderSize) {
        broken_ = true;
        return IoResult::Error;
      }
      if (in_tail_ - in_head_ < h.size) {
        if (in_.size() < h.size) in_.resize(h.size + (in_.size() / 2));
        break;
      }
      const char* payload = in_.data() + in_head_ + kHeaderSize;
      in_head_ += h.size;
      on_message(h, std::string_view(payload, h.size - kHeaderSize));
    }
    compact();
    if (r != IoResult::Ok) return r;
  }
  return IoResult::Ok;
}

}  // namespace wsd::ipc
