// The cross-node message format carried on the Redis channels. One binary
// layout, versioned by its magic ("wsd1"): a node that reads anything else
// (another version, another program sharing the prefix, garbage) drops it.
//
//   magic[4] type[1] origin[2] conn[8] aux[2] query[4] topic_len[1] data_len[4]
//   topic[topic_len] data[data_len]                      (integers little-endian)
//
// No WebSocket rules here: aux is opaque (opcode | flags << 8, a close code,
// a query kind or answer) and checked by whoever acts on it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace wsd::cluster {

enum class WireType : uint8_t {
  Push = 1,        // conn: target; aux: opcode | flags << 8; data: payload
  Close = 2,       // conn: target; aux: close code (0 = no close frame); data: reason
  Publish = 3,     // topic; aux: opcode | flags << 8; data: payload
  Broadcast = 4,   // aux: opcode | flags << 8; data: payload
  Query = 5,       // conn: asked about; aux: QueryKind; query: the asker's id
  Reply = 6,       // conn: asked about; aux: the answer (0/1); query: echoed
};

enum class QueryKind : uint16_t { Exist = 0, Established = 1 };

struct WireMessage {
  WireType type = WireType::Push;
  uint16_t origin = 0;          // the sending node's number (1..4095)
  uint64_t conn = 0;
  uint16_t aux = 0;
  uint32_t query = 0;
  std::string_view topic;       // Publish only (1..255 bytes)
  std::string_view data;
};

constexpr size_t kWireHeaderSize = 4 + 1 + 2 + 8 + 2 + 4 + 1 + 4;
constexpr size_t kMaxWireTopic = 255;
constexpr uint16_t kMaxNodeNumber = 4095;

// Appends the encoded message to out. The caller keeps topics within 255 bytes.
void encode(const WireMessage& m, std::string& out);
std::string encode(const WireMessage& m);
// Validates every field and length; false on anything malformed or foreign.
// On success, topic and data point into `in`.
bool decode(std::string_view in, WireMessage& out);

}  // namespace wsd::cluster
