// One client WebSocket connection: a non-blocking socket and its state
// machine, Connecting -> Handshake -> Open -> Closing -> Closed. What it does
// with messages is the Mode's business; it only frames, masks, reads and
// counts. A connection that must die is marked Closed and handed to the
// worker, which closes the socket after the event loop iteration.
#pragma once

#include <netinet/in.h>

#include <cstdint>
#include <string>

#include "bench/loadgen/client_handshake.h"
#include "bench/loadgen/out_buffer.h"
#include "bench/loadgen/pollable.h"
#include "bench/loadgen/stats.h"
#include "core/message_reader.h"

namespace wsd::loadgen {

class WorkerThread;

class Connection final : public Pollable, private core::MessageSink {
 public:
  enum class State : uint8_t { Unused, Connecting, Handshake, Open, Closing, Closed };
  enum class Role : uint8_t { Client, Publisher };

  Connection();

  // Starts connecting (from `src` when given). A failure is counted and
  // leaves the connection Closed.
  void start(WorkerThread& worker, Role role, const sockaddr_in& dst, const sockaddr_in* src);

  // Appends a masked data frame of `len` payload bytes to the output and
  // returns where its payload goes; the caller writes all `len` bytes, then
  // calls commit_message() with the same pointer. Only when Open.
  uint8_t* begin_message(core::Opcode op, size_t len);
  void commit_message(uint8_t* payload, size_t len);
  // Starts the close handshake with 1000 (Open only).
  void close_normally();
  // Ends the connection now; `why` is counted (ErrorKind::kCount: nothing).
  void abort(ErrorKind why);

  // Writes queued output: after this connection's own read events, and by
  // the worker at the end of each iteration for output queued elsewhere.
  void flush();
  // Called by the worker at the safe point, after abort(): closes the socket.
  void finish();

  void on_events(uint32_t events) override;

  State state() const { return state_; }
  Role role() const { return role_; }
  uint64_t started_ns() const { return started_ns_; }
  bool pending() const { return state_ == State::Connecting || state_ == State::Handshake; }

  // Free for the mode: echo's next sequence numbers to send and to expect;
  // broadcast's next expected sequence number.
  uint64_t next_send = 0;
  uint64_t next_recv = 0;
  // Set by the worker while the connection is on its flush list.
  bool dirty = false;

 private:
  void on_connected();
  void send_upgrade();
  void read_handshake();
  void read_frames();
  void feed(uint8_t* data, size_t len);
  void queue_control(core::Opcode op, const uint8_t* data, size_t len);
  void kill(ErrorKind why);

  void on_message(core::Opcode opcode, const uint8_t* data, size_t len, bool compressed) override;
  void on_ping(const uint8_t* data, size_t len) override;
  void on_pong(const uint8_t*, size_t) override {}
  void on_close(uint16_t code, std::string_view reason) override;
  void on_error(uint16_t code, std::string_view why) override;

  WorkerThread* worker_ = nullptr;
  core::MessageReader reader_;
  OutBuffer out_;
  std::string head_;                // the server's handshake answer, until complete
  uint64_t started_ns_ = 0;
  int fd_ = -1;
  State state_ = State::Unused;
  Role role_ = Role::Client;
  char accept_[kAcceptKeySize];     // expected Sec-WebSocket-Accept
};

}  // namespace wsd::loadgen
