// A framed, batching message channel over a non-blocking stream socket
// (one end of a socketpair). Appending queues bytes without a system call;
// flush() writes everything queued in as few writes as the kernel allows, and
// read_messages() drains the socket and hands over every complete message.
// The channel does no event-loop work: its owner decides when to flush and
// watches the fd.
//
// Large payloads can bypass the socket: with a shared ring enabled, a payload
// of kSharedRingAt bytes or more is copied once into a ring of shared memory
// (ipc/shared_ring.h) and only a 16-byte reference crosses the socket. The
// ring is created at first use and its memfd sent to the peer on the socket
// itself (SCM_RIGHTS), so whoever creates the socketpair needs to know
// nothing about it. When the ring is full, payloads take the socket as before.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <deque>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <sys/socket.h>
#include <sys/types.h>

#include "ipc/message.h"
#include "ipc/shared_ring.h"

namespace wsd::ipc {

// The ring the reactor <-> worker channels use, each direction its own:
// holds 32 messages of 64 KiB in flight; the largest payload it takes is a
// quarter of it (larger ones would keep it full for the others).
constexpr size_t kLargePayloadRing = 2 * 1024 * 1024;
// Below this a payload is cheaper batched into the socket with its neighbours.
constexpr size_t kSharedRingAt = 4 * 1024;

class Channel {
 public:
  // Takes ownership of `fd` (closed by the destructor). `max_message` bounds
  // one message's size: a peer announcing more is a broken peer.
  // `ring_capacity` (a power of two, 0 = none) enables the shared ring for
  // what this end sends; any channel reads what a peer sends through one.
  Channel(int fd, size_t max_message, size_t ring_capacity = 0);
  ~Channel();
  Channel(const Channel&) = delete;
  Channel& operator=(const Channel&) = delete;

  int fd() const { return fd_; }

  // Queues one message (header fields + payload pieces). No system call.
  void append(MessageType type, uint64_t conn, uint16_t aux, uint8_t flags,
              std::string_view payload, std::string_view payload2 = {});

  // For a payload that is still to be written: `size` bytes of the shared
  // ring to write it into, or nullptr (too small or large for the ring, no
  // ring, no room: append() it instead). The message that carries it must
  // be append_reserved() before anything else is appended, or the
  // reservation cancel_reserved() (the payload turned out to be invalid).
  char* reserve_payload(size_t size, uint64_t& pos);
  void append_reserved(MessageType type, uint64_t conn, uint16_t aux, uint8_t flags, uint64_t pos, size_t size);
  // The last reservation, not to be sent after all: its bytes are free again.
  void cancel_reserved(uint64_t pos, size_t size) { out_ring_->unreserve(pos, size); }

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
  // Payloads in the shared ring come back inline: the successor has its own.
  std::string take_unsent(size_t& dropped);
  void prepend_pending(std::string_view bytes);

 private:
  IoResult fill();   // one read into in_
  void compact();
  void advance_boundary();
  void queue(MessageType type, uint64_t conn, uint16_t aux, uint8_t flags, std::string_view payload,
             std::string_view payload2);
  bool append_in_ring(MessageType type, uint64_t conn, uint16_t aux, uint8_t flags, std::string_view payload,
                      std::string_view payload2);
  ssize_t send_ring_fd(size_t end);
  void keep_received_fds(const msghdr& m);
  bool attach_in_ring();
  // A ring reference -> the header and payload the owner sees. Around the
  // owner's callback: what may be lent back while it runs, and afterwards
  // the release of the region (or the return of a loan).
  bool resolve_ring(MessageHeader& h, std::string_view& payload, RingRef& ref) const;
  void begin_ring_message(const RingRef& ref, std::string_view payload);
  void end_ring_message(const RingRef& ref);
  void queue_ref(MessageType type, uint64_t conn, uint16_t aux, uint8_t flags, const RingRef& ref);
  bool lend_back(MessageType type, uint64_t conn, uint16_t aux, uint8_t flags, std::string_view payload,
                 std::string_view payload2);

  int fd_;
  size_t max_message_;
  std::string out_;
  size_t out_head_ = 0;
  size_t boundary_ = 0;   // start of the first message not wholly written (<= out_head_)
  std::vector<char> in_;
  size_t in_head_ = 0;
  size_t in_tail_ = 0;
  bool broken_ = false;
  // The shared ring this end writes (created at first use) and the one the
  // peer writes (attached when its RingAttach message arrives).
  size_t ring_capacity_;
  std::unique_ptr<SharedRing> out_ring_;
  size_t ring_attach_at_ = kNoAttach;   // offset in out_ of a RingAttach whose fd has not gone
  static constexpr size_t kNoAttach = ~size_t{0};
  std::unique_ptr<SharedRing> in_ring_;
  std::deque<int> received_fds_;        // SCM_RIGHTS fds not yet claimed by a RingAttach
  struct Reading {
    const char* data = nullptr;
    size_t size = 0;
    uint64_t pos = 0;
  } reading_;                           // the peer's region its owner is reading now (lend_back)
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
      std::string_view payload(in_.data() + in_head_ + kHeaderSize, h.size - kHeaderSize);
      in_head_ += h.size;
      if (h.type == MessageType::RingAttach) {
        if (!attach_in_ring()) return broken_ = true, IoResult::Error;
        continue;
      }
      if (static_cast<uint8_t>(h.type) & kInSharedRing) {
        RingRef ref{};
        if (!resolve_ring(h, payload, ref)) return broken_ = true, IoResult::Error;
        begin_ring_message(ref, payload);
        on_message(h, payload);
        end_ring_message(ref);
        continue;
      }
      on_message(h, payload);
    }
    compact();
    if (r != IoResult::Ok) return r;
  }
  return IoResult::Ok;
}

}  // namespace wsd::ipc
