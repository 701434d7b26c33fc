#include "core/message_reader.h"

#include <algorithm>
#include <cstring>

#include "core/close_code.h"
#include "core/mask.h"
#include "core/permessage_deflate.h"

namespace wsd::core {

namespace {

constexpr uint8_t kRsv23 = 0x30;
// A reassembly buffer up to this size is kept for the next message; a larger
// one is released after delivery, so one big message does not pin memory on
// a connection that then goes quiet.
constexpr size_t kKeepCapacity = 64 * 1024;
// Handed out instead of a null pointer for empty payloads: sinks may memcpy
// from it, and memcpy from null is undefined even for zero bytes.
constexpr uint8_t kNoBytes[1] = {0};

// Header size announced by a frame's second byte: 2, plus the extended
// length, plus the masking key.
size_t header_size_for(uint8_t second_byte) {
  const uint8_t len7 = second_byte & 0x7F;
  const size_t length_bytes = len7 == 126 ? 2 : len7 == 127 ? 8 : 0;
  return 2 + length_bytes + ((second_byte & 0x80) ? 4 : 0);
}

}  // namespace

MessageReader::MessageReader(const ReaderOptions& options, Inflater* inflater)
    : options_(&options), inflater_(inflater) {}

// The main loop: a frame is a header followed by its payload, until the
// reader stops. Each step consumes at least one byte unless it stops.
size_t MessageReader::feed(uint8_t* data, size_t len, MessageSink& sink) {
  size_t pos = 0;
  while (pos < len) {
    switch (state_) {
      case State::Header:
        pos += read_header(data + pos, len - pos, sink);
        break;
      case State::Payload:
        pos += read_payload(data + pos, len - pos, sink);
        break;
      case State::Stopped:
        return pos;
    }
  }
  return pos;
}

void MessageReader::trim() {
  if (buffered() == 0) release();
}

std::vector<uint8_t>& MessageReader::buffer(MessageSink& sink) {
  if (!message_) message_ = sink.lend_buffer();
  return message_->bytes;
}

// ---- Header -----------------------------------------------------------------

// Bytes of header the frame needs; only 2 until the second byte says more.
size_t MessageReader::header_size() const {
  return header_len_ < 2 ? 2 : header_size_for(header_[1]);
}

// Collects header bytes (they may arrive one at a time). The first two are
// checked as soon as they are in, the length once it is complete.
size_t MessageReader::read_header(const uint8_t* data, size_t len, MessageSink& sink) {
  size_t used = 0;
  if (header_len_ == 0 && len >= kMaxFrameHeaderSize) {
    // Fast path, the usual case: a fixed-size copy (a couple of moves) of
    // the longest possible header; bytes past the real header are ignored.
    std::memcpy(header_, data, kMaxFrameHeaderSize);
    header_len_ = 2;
    if (!check_first_bytes(sink)) return 2;
    used = header_size_for(header_[1]);
    header_len_ = static_cast<uint8_t>(used);
  } else {
    while (header_len_ < header_size()) {
      if (used == len) return used;
      header_[header_len_++] = data[used++];
      if (header_len_ == 2 && !check_first_bytes(sink)) return used;
    }
  }
  if (!check_length(sink)) return used;
  state_ = State::Payload;
  payload_done_ = 0;
  if (payload_len_ == 0) end_frame(sink);  // no payload bytes will come to end it
  return used;
}

// RFC 6455 §5.2 and §5.4 rules that the first two bytes decide. A data frame
// that starts a message also starts the message state here.
bool MessageReader::check_first_bytes(MessageSink& sink) {
  using namespace close_code;
  const uint8_t op = opcode();
  if (header_[0] & kRsv23) return fail(sink, kProtocolError, "RSV2/RSV3 set");
  if (!is_known_opcode(op)) return fail(sink, kProtocolError, "reserved opcode");
  if (rsv1() && !inflater_) return fail(sink, kProtocolError, "RSV1 without deflate");
  if (masked() != options_->expect_masked) {
    return fail(sink, kProtocolError, masked() ? "masked frame" : "unmasked frame");
  }
  if (is_control_opcode(op)) {
    if (!fin()) return fail(sink, kProtocolError, "fragmented control frame");
    if (rsv1()) return fail(sink, kProtocolError, "RSV1 on a control frame");
    return true;
  }
  if (op == static_cast<uint8_t>(Opcode::Continuation)) {
    if (message_opcode_ == 0) {
      return fail(sink, kProtocolError, "continuation without a message");
    }
    if (rsv1()) return fail(sink, kProtocolError, "RSV1 on a continuation frame");
    return true;
  }
  if (message_opcode_ != 0) {
    return fail(sink, kProtocolError, "new message inside a fragmented one");
  }
  message_opcode_ = op;
  message_compressed_ = rsv1();
  utf8_.reset();
  return true;
}

// Decodes the payload length and applies the message size limit before any
// payload is buffered. Receivers accept non-minimal length encodings.
bool MessageReader::check_length(MessageSink& sink) {
  const uint8_t len7 = header_[1] & 0x7F;
  uint64_t len = len7;
  if (len7 >= 126) {
    const size_t bytes = len7 == 126 ? 2 : 8;
    len = 0;
    for (size_t i = 0; i < bytes; ++i) len = len << 8 | header_[2 + i];
  }
  if (len >> 63) {
    return fail(sink, close_code::kProtocolError, "64-bit length with the top bit set");
  }
  if (is_control_opcode(opcode())) {
    // The value counts, not the encoding: a 16-bit length of 5 is allowed.
    if (len > kMaxControlPayload) return fail(sink, close_code::kProtocolError, "control frame over 125 bytes");
    payload_len_ = static_cast<uint32_t>(len);
    return true;
  }
  // A compressed frame is bounded by itself here (its bytes are not kept);
  // the inflated message is bounded by the inflater. The bound never passes
  // 32 bits, so the frame's length fits payload_len_.
  const uint64_t max = max_message_size();
  const uint64_t have = message_compressed_ ? 0 : buffered();
  if (have > max || len > max - have) {
    return fail(sink, close_code::kMessageTooBig, "message too big");
  }
  payload_len_ = static_cast<uint32_t>(len);
  return true;
}

// ---- Payload ----------------------------------------------------------------

size_t MessageReader::read_payload(uint8_t* data, size_t len, MessageSink& sink) {
  const uint32_t left = payload_len_ - payload_done_;
  const size_t take = len < left ? len : static_cast<size_t>(left);
  const uint8_t* key = header_ + header_len_ - 4;
  if (payload_done_ == 0 && take == payload_len_ && can_deliver_in_place()) {
    uint8_t* dest = masked() && !is_control_opcode(opcode()) ? sink.message_destination(take) : nullptr;
    if (dest) {
      apply_mask_copy(dest, data, take, key);
      data = dest;
    } else if (masked()) {
      apply_mask(data, take, key);
    }
    deliver_in_place(data, take, sink);
    return take;
  }
  if (masked()) apply_mask(data, take, key, payload_done_);
  if (!consume_piece(data, take, sink)) return take;
  payload_done_ += static_cast<uint32_t>(take);
  if (payload_done_ == payload_len_) end_frame(sink);
  return take;
}

// The zero-copy path: a frame that is a whole message (or a control frame)
// and lies wholly in the caller's buffer needs no reassembly buffer.
bool MessageReader::can_deliver_in_place() const {
  if (is_control_opcode(opcode())) return true;
  return fin() && opcode() != static_cast<uint8_t>(Opcode::Continuation) && !rsv1();
}

void MessageReader::deliver_in_place(uint8_t* data, size_t len, MessageSink& sink) {
  const uint8_t op = opcode();
  if (is_control_opcode(op)) {
    deliver_control(op, data, len, sink);
  } else if (op == static_cast<uint8_t>(Opcode::Text) &&
             !(utf8_.feed(data, len) && utf8_.complete())) {
    fail(sink, close_code::kMessageError, "invalid UTF-8");
  } else {
    message_opcode_ = 0;
    sink.on_message(static_cast<Opcode>(op), data, len, false);
  }
  if (state_ != State::Stopped) next_frame();
}

// Takes an unmasked piece of the current frame. Text is checked as it
// arrives, so bad UTF-8 is reported before the rest of the message is read.
bool MessageReader::consume_piece(uint8_t* data, size_t len, MessageSink& sink) {
  if (is_control_opcode(opcode())) {
    std::vector<uint8_t>& m = buffer(sink);
    m.insert(m.end(), data, data + len);
    return true;
  }
  if (message_compressed_) return inflate_piece(data, len, sink);
  if (message_opcode_ == static_cast<uint8_t>(Opcode::Text) && !utf8_.feed(data, len)) {
    return fail(sink, close_code::kMessageError, "invalid UTF-8");
  }
  std::vector<uint8_t>& m = buffer(sink);
  m.insert(m.end(), data, data + len);
  return true;
}

bool MessageReader::inflate_piece(const uint8_t* data, size_t len, MessageSink& sink) {
  std::vector<uint8_t>& m = buffer(sink);
  const size_t before = m.size();
  switch (inflater_->inflate(data, len, m, max_message_size())) {
    case Inflater::Result::Ok:
      return check_text(before, sink);
    case Inflater::Result::TooBig:
      return fail(sink, close_code::kMessageTooBig, "inflated message too big");
    case Inflater::Result::Error:
      break;
  }
  // RFC 7692 leaves the code open; invalid compressed data is invalid
  // payload data, which is what 1007 means.
  return fail(sink, close_code::kMessageError, "invalid compressed data");
}

// Checks the UTF-8 of inflated text appended from offset `from` on.
bool MessageReader::check_text(size_t from, MessageSink& sink) {
  if (message_opcode_ != static_cast<uint8_t>(Opcode::Text)) return true;
  const std::vector<uint8_t>& m = message_->bytes;
  if (utf8_.feed(m.data() + from, m.size() - from)) return true;
  return fail(sink, close_code::kMessageError, "invalid UTF-8");
}

// ---- Frame and message ends -------------------------------------------------

void MessageReader::end_frame(MessageSink& sink) {
  const uint8_t op = opcode();
  if (is_control_opcode(op)) {
    // The payload was collected after any message bytes; hand it out, then
    // cut it off again.
    const size_t n = static_cast<size_t>(payload_len_);
    const uint8_t* p = n == 0 ? kNoBytes : message_->bytes.data() + message_->bytes.size() - n;
    deliver_control(op, p, n, sink);
    if (state_ == State::Stopped) return;
    if (n > 0) message_->bytes.resize(message_->bytes.size() - n);
  } else if (fin()) {
    end_message(sink);
    if (state_ == State::Stopped) return;
  }
  next_frame();
}

void MessageReader::end_message(MessageSink& sink) {
  if (message_compressed_) {
    std::vector<uint8_t>& m = buffer(sink);
    const size_t before = m.size();
    switch (inflater_->finish(m, max_message_size())) {
      case Inflater::Result::Ok:
        break;
      case Inflater::Result::TooBig:
        fail(sink, close_code::kMessageTooBig, "inflated message too big");
        return;
      case Inflater::Result::Error:
        fail(sink, close_code::kMessageError, "invalid compressed data");
        return;
    }
    if (!check_text(before, sink)) return;
  }
  const auto op = static_cast<Opcode>(message_opcode_);
  if (op == Opcode::Text && !utf8_.complete()) {
    fail(sink, close_code::kMessageError, "truncated UTF-8");
    return;
  }
  const bool compressed = message_compressed_;
  message_opcode_ = 0;
  message_compressed_ = false;
  const size_t size = buffered();
  sink.on_message(op, size == 0 ? kNoBytes : message_->bytes.data(), size, compressed);
  if (!message_) return;
  message_->bytes.clear();
  if (message_->bytes.capacity() > kKeepCapacity) release();
}

void MessageReader::deliver_control(uint8_t opcode, const uint8_t* data, size_t len,
                                    MessageSink& sink) {
  using namespace close_code;
  if (opcode == static_cast<uint8_t>(Opcode::Ping)) return sink.on_ping(data, len);
  if (opcode == static_cast<uint8_t>(Opcode::Pong)) return sink.on_pong(data, len);
  const ParsedClose close = parse_close_payload(data, len);
  switch (close.error) {
    case ClosePayloadError::None:
      state_ = State::Stopped;
      sink.on_close(close.code, close.reason);
      return release();  // only now: the reason may point into message_
    case ClosePayloadError::OneByte:
      fail(sink, kProtocolError, "close payload of one byte");
      return;
    case ClosePayloadError::BadCode:
      fail(sink, kProtocolError, "invalid close code");
      return;
    case ClosePayloadError::BadUtf8:
      fail(sink, kMessageError, "close reason is not UTF-8");
      return;
  }
}

void MessageReader::next_frame() {
  state_ = State::Header;
  header_len_ = 0;
  payload_len_ = 0;
  payload_done_ = 0;
}

// Reports the error and stops. Returns false so checks can `return fail(...)`.
bool MessageReader::fail(MessageSink& sink, uint16_t code, std::string_view why) {
  state_ = State::Stopped;
  sink.on_error(code, why);
  release();
  return false;
}

void MessageReader::release() { message_.reset(); }

}  // namespace wsd::core
