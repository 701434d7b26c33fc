// The WebSocket side of a connection: what the frame reader reports, the
// frames we send, the close handshake, and the commands workers send.
#include <spdlog/spdlog.h>

#include <utility>

#include "core/close_code.h"
#include "core/frame.h"
#include "daemon/reactor.h"
#include "wsd/plugin.h"

namespace wsd::daemon {

namespace {
uint16_t opcode_and_flags(uint8_t opcode, uint8_t flags) {
  return static_cast<uint16_t>(opcode | (flags << 8));
}
}  // namespace

// PROCESS mode: a large message is unmasked straight into the shared ring
// of the channel to the worker that will get it (ipc/channel.h), saving a
// pass over its bytes. The worker is chosen here, once.
uint8_t* Reactor::message_destination(size_t len) {
  if (local_ || len < ipc::kSharedRingAt) return nullptr;
  Connection& c = *current_;
  if (c.doomed || c.phase != Phase::WebSocket) return nullptr;
  // Kept even when the ring has no room (the message then goes through the
  // socket): dispatch_mode 1 and 3 must not pick twice for one message.
  reserved_.worker = pick_worker(c, true);
  reserved_.size = len;
  char* p = workers_[reserved_.worker].channel->reserve_payload(len, reserved_.pos);
  if (!p) reserved_.pos = ReservedPayload::kNotInRing;
  return reinterpret_cast<uint8_t*>(p);
}

// Whether a message from `c` goes to a worker at all.
bool Reactor::accept_message(Connection& c) {
  if (c.doomed) return false;  // BASE mode: a plugin closed it while its bytes were being read
  if (c.phase != Phase::WebSocket) return false;  // data after our close frame is dropped (RFC 6455 §5.5.1)
  if (settings_.max_message_rate > 0) {
    // Messages in the current one-second window.
    ConnectionExtra& x = c.ext();
    auto second = static_cast<uint32_t>(now());
    if (second != x.rate_window) {
      x.rate_window = second;
      x.rate_count = 0;
    }
    if (++x.rate_count > settings_.max_message_rate) {
      spdlog::debug("[reactor {}] conn {}: message rate exceeded", index_, c.id);
      send_close(c, WSD_CLOSE_POLICY_ERROR, "message rate exceeded");
      return false;
    }
  }
  return true;
}

// A region reserved in a ring for a message that is not sent after all goes
// back: left as a gap it would be freed only by a later message through the
// same ring, and enough of them would fill it for good.
void Reactor::drop_reservation(const ReservedPayload& r) {
  if (r.pos != ReservedPayload::kNotInRing) workers_[r.worker].channel->cancel_reserved(r.pos, r.size);
}

void Reactor::on_message(core::Opcode op, const uint8_t* data, size_t len, bool compressed) {
  const ReservedPayload reserved = std::exchange(reserved_, {});
  Connection& c = *current_;
  if (!accept_message(c)) {
    drop_reservation(reserved);
    return;
  }
  stats_->messages_in.add();
  uint8_t flags = WSD_FLAG_FIN | (compressed ? WSD_FLAG_COMPRESS : 0);
  const uint16_t aux = opcode_and_flags(static_cast<uint8_t>(op), flags);
  if (reserved.pos != ReservedPayload::kNotInRing) {
    workers_[reserved.worker].channel->append_reserved(ipc::MessageType::Message, c.id, aux,
                                                       static_cast<uint8_t>(c.plugin), reserved.pos, len);
    dispatched(reserved.worker, c);
    return;
  }
  int w = reserved.worker >= 0 ? reserved.worker : pick_worker(c, true);
  dispatch(w, c, ipc::MessageType::Message, aux, static_cast<uint8_t>(c.plugin),
           std::string_view(reinterpret_cast<const char*>(data), len));
}

void Reactor::on_ping(const uint8_t* data, size_t len) {
  Connection& c = *current_;
  if (c.doomed) return;  // BASE mode: a plugin closed it while its bytes were being read
  std::string_view payload(reinterpret_cast<const char*>(data), len);
  if (settings_.open_ping_frame) {
    // The plugin asked for pings, and answers them itself (the manual).
    dispatch(pick_worker(c, true), c, ipc::MessageType::Message, opcode_and_flags(WSD_OPCODE_PING, WSD_FLAG_FIN),
             static_cast<uint8_t>(c.plugin), payload);
    return;
  }
  if (c.phase == Phase::WebSocket) send_frame(c, WSD_OPCODE_PONG, WSD_FLAG_FIN, payload);
}

void Reactor::on_pong(const uint8_t* data, size_t len) {
  Connection& c = *current_;
  if (c.doomed) return;  // BASE mode: a plugin closed it while its bytes were being read
  if (!settings_.open_pong_frame) return;
  dispatch(pick_worker(c, true), c, ipc::MessageType::Message, opcode_and_flags(WSD_OPCODE_PONG, WSD_FLAG_FIN),
           static_cast<uint8_t>(c.plugin), std::string_view(reinterpret_cast<const char*>(data), len));
}

// The client's close frame: either it starts the close handshake (we answer
// and close) or it answers ours (we close).
void Reactor::on_close(uint16_t code, std::string_view reason) {
  Connection& c = *current_;
  if (c.doomed) return;  // BASE mode: a plugin closed it while its bytes were being read
  if (settings_.open_close_frame) {
    std::string payload = core::close_payload(code, reason);
    if (code == 1005) payload.clear();
    dispatch(pick_worker(c, true), c, ipc::MessageType::Message, opcode_and_flags(WSD_OPCODE_CLOSE, WSD_FLAG_FIN),
             static_cast<uint8_t>(c.plugin), payload);
  }
  if (c.phase == Phase::Closing) {
    finish(c);
    return;
  }
  c.close_code = code;
  c.ext().close_reason.assign(reason);
  c.close_by_server = false;
  // Echo the status code (RFC 6455 §5.5.1); an empty close gets an empty one.
  std::string payload = code == 1005 ? std::string() : core::close_payload(code, {});
  std::string frame(core::kMaxFrameHeaderSize, '\0');
  frame.resize(core::write_frame_header(reinterpret_cast<uint8_t*>(frame.data()), WSD_OPCODE_CLOSE, true, false,
                                        payload.size()));
  queue_output(c, frame, payload);
  sessions_.set_status(c.id, WSD_STATUS_CLOSING);
  finish(c);
}

void Reactor::on_error(uint16_t code, std::string_view why) {
  drop_reservation(std::exchange(reserved_, {}));  // unmasked into a ring, then refused (bad UTF-8)
  Connection& c = *current_;
  if (c.doomed) return;  // BASE mode: a plugin closed it while its bytes were being read
  spdlog::debug("[reactor {}] conn {}: protocol error {}: {}", index_, c.id, code, why);
  if (c.phase == Phase::Closing) {
    finish(c);
    return;
  }
  c.close_code = code;
  c.ext().close_reason.assign(why);
  c.close_by_server = true;
  std::string payload = core::close_payload(code, why);
  std::string frame(core::kMaxFrameHeaderSize, '\0');
  frame.resize(core::write_frame_header(reinterpret_cast<uint8_t*>(frame.data()), WSD_OPCODE_CLOSE, true, false,
                                        payload.size()));
  queue_output(c, frame, payload);
  finish(c);
}

void Reactor::send_frame(Connection& c, uint8_t opcode, uint8_t flags, std::string_view data) {
  uint8_t header[core::kMaxFrameHeaderSize];
  bool fin = flags & WSD_FLAG_FIN;
  if (!core::is_control_opcode(opcode)) stats_->messages_out.add();
  if ((flags & WSD_FLAG_COMPRESS) && c.deflater() && !core::is_control_opcode(opcode)) {
    scratch_.clear();
    if (c.deflater()->compress(reinterpret_cast<const uint8_t*>(data.data()), data.size(), scratch_)) {
      size_t n = core::write_frame_header(header, opcode, fin, true, scratch_.size());
      queue_output(c, std::string_view(reinterpret_cast<char*>(header), n), scratch_);
      return;
    }
  }
  size_t n = core::write_frame_header(header, opcode, fin, false, data.size());
  queue_output(c, std::string_view(reinterpret_cast<char*>(header), n), data);
}

// Server-initiated close: send the frame, wait (bounded) for the client's.
void Reactor::send_close(Connection& c, uint16_t code, std::string_view reason) {
  if (c.phase != Phase::WebSocket) return;
  c.close_code = code;
  ConnectionExtra& x = c.ext();
  x.close_reason.assign(reason);
  c.close_by_server = true;
  std::string payload = core::close_payload(code, reason);
  send_frame(c, WSD_OPCODE_CLOSE, WSD_FLAG_FIN, payload);
  c.phase = Phase::Closing;
  x.deadline = now() + settings_.close_timeout;
  sessions_.set_status(c.id, WSD_STATUS_CLOSING);
}

void Reactor::on_push(uint64_t id, uint16_t aux, std::string_view data) {
  Connection* c = find(id);
  if (!c || c->phase != Phase::WebSocket) return;  // the worker checked; it closed since
  auto opcode = static_cast<uint8_t>(aux & 0xFF);
  auto flags = static_cast<uint8_t>(aux >> 8);
  if (c->pending_output() + data.size() > settings_.buffer_output_size) {
    // The worker's check passed, the output filled since: counted here, and
    // buffer_output_close drops the slow client.
    stats_->deliveries_refused.add();
    if (settings_.buffer_output_close) close_slow(*c);
    return;
  }
  if (opcode == WSD_OPCODE_CLOSE) {
    core::ParsedClose pc = core::parse_close_payload(reinterpret_cast<const uint8_t*>(data.data()), data.size());
    send_close(*c, pc.code == 1005 ? static_cast<uint16_t>(WSD_CLOSE_NORMAL) : pc.code, pc.reason);
    return;
  }
  send_frame(*c, opcode, flags, data);
}

// buffer_output_close: a close frame (1008) if it still fits in the output
// bound, otherwise the socket is closed at once. Either way the output stops
// growing: Closing connections take no more pushes.
void Reactor::close_slow(Connection& c) {
  static constexpr std::string_view kReason = "output buffer full";
  if (c.pending_output() + core::kMaxFrameHeaderSize + 2 + kReason.size() <= settings_.buffer_output_size) {
    send_close(c, WSD_CLOSE_POLICY_ERROR, kReason);
    return;
  }
  c.close_code = WSD_CLOSE_POLICY_ERROR;
  c.ext().close_reason.assign(kReason);
  c.close_by_server = true;
  destroy(c);
}

void Reactor::on_close_command(uint64_t id, uint16_t code, std::string_view reason) {
  Connection* c = find(id);
  if (!c) return;
  if (code == 0 || !c->websocket) {
    // close(): no close frame.
    c->close_code = WSD_CLOSE_ABNORMAL;
    c->close_by_server = true;
    destroy(*c);
    return;
  }
  send_close(*c, code, reason);
}

}  // namespace wsd::daemon
