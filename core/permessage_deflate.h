// permessage-deflate (RFC 7692): negotiation, and the per-connection zlib
// streams that compress outgoing and inflate incoming messages.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace wsd::core {

// What the server is willing to do (from the config).
struct DeflateConfig {
  bool enabled = false;                  // Swoole's websocket_compression
  int max_window_bits = 15;              // cap on both directions' LZ77 window (9..15)
  int mem_level = 8;                     // zlib memLevel for deflate (1..9)
  bool server_no_context_takeover = false;  // ask for it even if the client did not offer it
  bool client_no_context_takeover = false;  // ask for it even if the client did not offer it
};

// What was agreed with one client.
struct DeflateParams {
  bool server_no_context_takeover = false;
  bool client_no_context_takeover = false;
  int server_max_window_bits = 15;   // window the server compresses with
  // Window the client compresses with. The response names it when < 15,
  // which negotiate_deflate allows only when the offer named it.
  int client_max_window_bits = 15;
  // The response names server_max_window_bits. It must whenever the offer
  // had it, even with 15: a server accepts that parameter only by echoing a
  // value (RFC 7692 §7.1.2.1), and strict clients fail the handshake without.
  bool server_max_window_bits_named = false;
};

// Parses every offer in the Sec-WebSocket-Extensions header values (repeated
// headers joined with ", "), and accepts the first acceptable
// permessage-deflate offer. Offers with unknown, invalid or duplicate
// parameters are declined, and so are offers of server_max_window_bits=8
// (zlib cannot compress with that window). A header that breaks the grammar
// (RFC 6455 §9.1) is ignored whole. Returns nullopt when compression is
// disabled or no offer is acceptable.
std::optional<DeflateParams> negotiate_deflate(std::string_view extensions_header,
                                               const DeflateConfig& config);

// The Sec-WebSocket-Extensions response value for agreed params.
std::string deflate_response_header(const DeflateParams& params);

// Client side (our client and load generator): build an offer, and check the
// server's response against it.
std::string deflate_offer_header(const DeflateConfig& config);
std::optional<DeflateParams> parse_deflate_response(std::string_view response_header);

// Compresses outgoing messages. The zlib stream is allocated on first use and,
// without context takeover, released after each message so that an idle
// connection holds no zlib memory (it goes to a one-stream cache per thread,
// for the next message of any connection of that thread).
class Deflater {
 public:
  // window_bits 9..15 (zlib cannot deflate raw with 8), mem_level 1..9;
  // other values make compress() fail.
  Deflater(int window_bits, bool no_context_takeover, int mem_level);
  ~Deflater();
  Deflater(const Deflater&) = delete;
  Deflater& operator=(const Deflater&) = delete;

  // Appends the compressed message to `out`, without the trailing
  // 00 00 ff ff (RFC 7692 §7.2.1). Returns false on a zlib failure.
  bool compress(const uint8_t* data, size_t len, std::string& out);
  // Bytes of zlib state held now (memory accounting).
  size_t memory_used() const;
  // Forgets the LZ77 window: the next message refers to nothing sent before
  // it. A peer inflating with context takeover decodes it all the same.
  void reset();
  int window_bits() const { return window_bits_; }
  bool context_takeover() const { return !no_context_takeover_; }

 private:
  struct Stream;
  bool open();
  bool run(const uint8_t* data, size_t len, std::string& out);
  void park();
  static std::unique_ptr<Stream>& spare();
  std::unique_ptr<Stream> stream_;
  int window_bits_;
  int mem_level_;
  bool no_context_takeover_;
};

class Inflater {
 public:
  enum class Result { Ok, TooBig, Error };

  // window_bits 8..15: the window the peer compresses with.
  Inflater(int window_bits, bool no_context_takeover);
  ~Inflater();
  Inflater(const Inflater&) = delete;
  Inflater& operator=(const Inflater&) = delete;

  // Inflates the next compressed piece of the current message, appending to
  // `out`. Stops with TooBig as soon as `out` would exceed `max_out` bytes
  // (a decompression bomb is never inflated whole). After TooBig or Error the
  // message is abandoned and the stream released (never reused half-way);
  // the caller closes the connection.
  Result inflate(const uint8_t* data, size_t len, std::vector<uint8_t>& out, size_t max_out);
  // Ends the message: feeds the 00 00 ff ff tail, and resets the stream when
  // there is no context takeover. Error when the message's compressed data
  // stopped inside a deflate block (truncated).
  Result finish(std::vector<uint8_t>& out, size_t max_out);
  size_t memory_used() const;

 private:
  struct Stream;
  bool open();
  Result run(const uint8_t* data, size_t len, std::vector<uint8_t>& out, size_t max_out);
  Result end_message(std::vector<uint8_t>& out, size_t max_out);
  bool restart_keeping_window();
  std::unique_ptr<Stream> stream_;
  int window_bits_;
  bool no_context_takeover_;
  bool in_message_ = false;   // the current message has had compressed bytes
  bool final_block_ = false;  // ... and its deflate stream ended (BFINAL set)
};

}  // namespace wsd::core
