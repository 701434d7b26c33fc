// Master <-> worker messages: a fixed 16-byte header and a payload. The
// channel carries many of them per read and write (batching); nothing here
// knows WebSocket rules, only who the message is about and what kind it is.
#pragma once

#include <cstddef>
#include <cstdint>

namespace wsd::ipc {

enum class MessageType : uint8_t {
  // reactor -> worker: events (flags: the plugin's index)
  Open = 1,              // payload: encoded request
  Message = 2,           // aux: opcode | flags << 8; payload: data
  Close = 3,             // aux: close code; payload: by_server byte, reason
  Request = 4,           // payload: encoded request
  Handshake = 5,         // payload: encoded request (custom handshake)
  BeforeHandshake = 6,   // payload: encoded request
  Disconnect = 7,        // a non-WebSocket connection ended
  // worker -> reactor: commands
  Push = 32,             // aux: opcode | flags << 8; payload: data
  CloseConnection = 33,  // aux: close code (0 = no close frame); payload: reason
  Response = 34,         // payload: encoded response (request / handshake answers)
  Processed = 35,        // conn: count of events the worker finished (dispatch_mode 3, the answer wait)
  Subscribe = 36,        // conn: the connection; payload: topic
  Unsubscribe = 37,      // conn: the connection; payload: topic
  Publish = 38,          // conn: topic length; aux: opcode | flags << 8; payload: topic, then data
  Broadcast = 39,        // aux: opcode | flags << 8; payload: data
  ClusterSend = 40,      // to reactor 0: conn: the target node; payload: an encoded cluster/wire message
  // worker -> master (main thread)
  Hello = 64,            // payload: one capability byte per plugin
  // channel-internal, never handed to the channel's owner
  RingAttach = 80,       // sent with SCM_RIGHTS: the sender's shared ring (ipc/shared_ring.h)
};

// On the type byte: the payload is not in the message but in a shared ring;
// the message carries a RingRef. The reading channel resolves it before its
// owner sees the message, so owners never see this bit.
constexpr uint8_t kInSharedRing = 0x80;

struct RingRef {
  uint64_t pos;    // the region's position in the ring
  uint32_t size;   // payload bytes
  uint32_t lent;   // 0: the sender's ring; 1: the receiver's own, lent back (ipc/shared_ring.h)
};
static_assert(sizeof(RingRef) == 16);

struct MessageHeader {
  uint32_t size;      // header + payload, bytes
  MessageType type;
  uint8_t flags;      // events: the plugin's index
  uint16_t aux;       // type-specific small value (opcode and flags, close code, plugin index)
  uint64_t conn;      // connection id (or a count, for Processed)
};
static_assert(sizeof(MessageHeader) == 16);

constexpr size_t kHeaderSize = sizeof(MessageHeader);

}  // namespace wsd::ipc
