// Counters of one worker thread, and their sum over all threads.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>

namespace wsd::loadgen {

// Every way a connection or a message can go wrong. Each is counted, none is
// logged per occurrence.
enum class ErrorKind : uint8_t {
  Connect,       // connect() failed (refused, no ports left, ...)
  Timeout,       // connect + handshake took longer than --timeout
  Handshake,     // the answer was not 101 with the right Sec-WebSocket-Accept
  Protocol,      // the server broke RFC 6455 (bad frame, bad UTF-8, masked frame)
  ServerClose,   // the server sent a close frame we did not ask for
  Reset,         // EOF or RST without a close handshake
  Write,         // send() failed
  Mismatch,      // echo: wrong size, type or content
  Order,         // a message out of sequence (duplicate, reordered, another connection's)
  Lost,          // messages that never arrived (a gap in the sequence)
  Unexpected,    // a message the mode does not expect (idle, or not "pub ...")
  Publish,       // broadcast publisher: HTTP error, or its connection failed
  Stall,         // broadcast: no delivery progress for a second, published anyway
  CloseTimeout,  // no close reply before the end of the run
  kCount
};
constexpr size_t kErrorKinds = static_cast<size_t>(ErrorKind::kCount);
const char* error_name(ErrorKind kind);

// A counter that one thread writes and others read: a plain add, no locked
// instruction, because only its owner ever writes it.
class Counter {
 public:
  void add(uint64_t n = 1) { v_.store(v_.load(std::memory_order_relaxed) + n, std::memory_order_relaxed); }
  void sub(uint64_t n = 1) { v_.store(v_.load(std::memory_order_relaxed) - n, std::memory_order_relaxed); }
  uint64_t get() const { return v_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> v_{0};
};

// Plain numbers: a snapshot of one or all threads.
struct Totals {
  uint64_t sent_msgs = 0, sent_bytes = 0;  // data messages and their payload bytes
  uint64_t recv_msgs = 0, recv_bytes = 0;  // counted by the mode (what it calls a message)
  uint64_t opened = 0;                     // handshakes completed
  uint64_t failed = 0;                     // connections that never opened
  uint64_t live = 0;                       // sockets not yet closed
  uint64_t closed_clean = 0;               // close handshakes completed by us
  std::array<uint64_t, kErrorKinds> errors{};

  uint64_t error_total() const;
  Totals& operator+=(const Totals& o);
  Totals operator-(const Totals& o) const;
};

// Written by the owning worker only; read by the main thread at any time.
struct alignas(64) ThreadStats {
  Counter sent_msgs, sent_bytes, recv_msgs, recv_bytes;
  Counter opened, failed, live, closed_clean;
  std::array<Counter, kErrorKinds> errors;

  void error(ErrorKind kind, uint64_t n = 1) { errors[static_cast<size_t>(kind)].add(n); }
  Totals read() const;
};

}  // namespace wsd::loadgen
