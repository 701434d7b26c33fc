// The receiving half of the WebSocket protocol: an incremental frame parser
// that validates every frame (RFC 6455 §5), reassembles fragmented messages,
// inflates compressed ones (RFC 7692), checks text as UTF-8 as it arrives, and
// reports complete messages and control frames. No I/O: it is fed bytes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

#include "core/buffer_pool.h"
#include "core/constants.h"
#include "core/utf8.h"

namespace wsd::core {

class Inflater;

// The largest max_message_size honoured: frame lengths are kept in 32 bits
// (the reader lives in every connection record). wsd's package_max_length
// is at most 1 GiB.
constexpr uint64_t kMaxMessageSizeLimit = 0xFFFFFFFFu;

struct ReaderOptions {
  // Largest message, reassembled and inflated (Swoole's package_max_length).
  // A frame header announcing more than what is left → 1009 before any of
  // its payload is buffered; an inflated message growing past it → 1009.
  // Values above kMaxMessageSizeLimit act as that limit.
  uint64_t max_message_size = kDefaultPackageMaxLength;
  // Server side: client frames must be masked (unmasked → 1002).
  // Client side (false): server frames must not be masked.
  bool expect_masked = true;
};

// Receives what the reader finds. Pointers are valid only during the call.
class MessageSink {
 public:
  virtual ~MessageSink() = default;
  // A complete data message: Text (valid UTF-8) or Binary. `compressed` says
  // whether it arrived compressed (it is delivered inflated).
  virtual void on_message(Opcode opcode, const uint8_t* data, size_t len, bool compressed) = 0;
  virtual void on_ping(const uint8_t* data, size_t len) = 0;
  virtual void on_pong(const uint8_t* data, size_t len) = 0;
  // A valid close frame (code 1005 when it had no payload). The reader stops.
  virtual void on_close(uint16_t code, std::string_view reason) = 0;
  // The peer broke the protocol: close with `code` (1002, 1007 or 1009). The
  // reader stops. `why` is a short static description for logs.
  virtual void on_error(uint16_t code, std::string_view why) = 0;
  // Memory for reassembly, asked for only when a message (or control frame)
  // does not lie whole in one feed. An owner of many readers lends pooled
  // buffers and takes them back with MessageReader::take_buffer().
  virtual std::unique_ptr<Buffer> lend_buffer() { return std::make_unique<Buffer>(); }
  // A whole data message of `len` bytes, one masked uncompressed frame, is
  // about to be unmasked: memory to unmask it into, when its bytes are headed
  // there anyway (one pass over them instead of two), or nullptr to unmask
  // in place. The next call on_message or on_error tells what became of it.
  virtual uint8_t* message_destination(size_t /*len*/) { return nullptr; }
};

class MessageReader {
 public:
  // `options` must outlive the reader (it is shared by many connections).
  // `inflater` is null unless permessage-deflate was negotiated; without it
  // RSV1 is a protocol error.
  explicit MessageReader(const ReaderOptions& options, Inflater* inflater = nullptr);

  // Consumes `len` bytes at `data`, unmasking them in place (the bytes are
  // scratch afterwards). A message whose single frame lies wholly inside
  // `data` is delivered straight from it, without a copy. Returns how many
  // bytes were consumed: all of them unless the reader stopped (after a close
  // frame or an error), in which case it consumes nothing more.
  size_t feed(uint8_t* data, size_t len, MessageSink& sink);

  bool stopped() const { return state_ == State::Stopped; }
  // Bytes held for a message still incomplete (memory accounting).
  size_t buffered() const { return message_ ? message_->bytes.size() : 0; }
  // The reassembly buffer, when it holds no bytes (between messages, or
  // before a split frame's first payload byte): for the owner to pool.
  // Null when there is none or it is in use.
  std::unique_ptr<Buffer> take_buffer() {
    return message_ && message_->bytes.empty() ? std::move(message_) : nullptr;
  }
  // Releases the reassembly buffer's memory when no message is in progress.
  void trim();

 private:
  // Header: collecting the frame header into header_ (it may arrive a byte
  // at a time). Payload: the header is complete and checked; payload bytes
  // are being consumed. Stopped: after on_close or on_error.
  enum class State : uint8_t { Header, Payload, Stopped };

  size_t read_header(const uint8_t* data, size_t len, MessageSink& sink);
  size_t header_size() const;
  bool check_first_bytes(MessageSink& sink);
  bool check_length(MessageSink& sink);
  size_t read_payload(uint8_t* data, size_t len, MessageSink& sink);
  bool can_deliver_in_place() const;
  void deliver_in_place(uint8_t* data, size_t len, MessageSink& sink);
  bool consume_piece(uint8_t* data, size_t len, MessageSink& sink);
  bool inflate_piece(const uint8_t* data, size_t len, MessageSink& sink);
  bool check_text(size_t from, MessageSink& sink);
  void end_frame(MessageSink& sink);
  void end_message(MessageSink& sink);
  void deliver_control(uint8_t opcode, const uint8_t* data, size_t len, MessageSink& sink);
  void next_frame();
  bool fail(MessageSink& sink, uint16_t code, std::string_view why);
  void release();
  std::vector<uint8_t>& buffer(MessageSink& sink);   // the reassembly bytes, borrowed on first use

  // The current frame, read from its header (valid in Payload state).
  uint8_t opcode() const { return header_[0] & 0x0F; }
  bool fin() const { return (header_[0] & 0x80) != 0; }
  bool rsv1() const { return (header_[0] & 0x40) != 0; }
  bool masked() const { return (header_[1] & 0x80) != 0; }
  uint64_t max_message_size() const {
    return options_->max_message_size < kMaxMessageSizeLimit ? options_->max_message_size : kMaxMessageSizeLimit;
  }

  // Implementation details below may change; keep the object small (it
  // lives in every connection record). The current frame's opcode, flags and
  // masking key are not copied out of header_: it stays intact until the
  // frame ends.
  const ReaderOptions* options_;
  Inflater* inflater_;
  State state_ = State::Header;
  uint8_t header_len_ = 0;          // bytes of header_ collected
  uint8_t header_[kMaxFrameHeaderSize];
  uint8_t message_opcode_ = 0;      // 0 = no data message in progress
  bool message_compressed_ = false;
  Utf8Validator utf8_;              // text messages, fed as the bytes arrive
  uint32_t payload_len_ = 0;        // current frame (at most kMaxMessageSizeLimit)
  uint32_t payload_done_ = 0;       // of payload_len_, consumed so far
  // Reassembly buffer of a fragmented (or inflated) message, borrowed from
  // the sink only when needed. A control frame split across feeds is
  // collected after the message bytes and cut off again once delivered.
  std::unique_ptr<Buffer> message_;
};

}  // namespace wsd::core
