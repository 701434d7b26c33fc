// One client connection as a reactor holds it. An idle WebSocket connection
// is this record (112 bytes, from the reactor's ConnectionSlab), its epoll
// registration (kernel memory), a pointer in the reactor's list and one in
// the slot index, and its session table slot (64 bytes): see "Memory per
// connection" in docs/architecture.md. Everything else is allocated only while used: the
// output buffer while bytes wait for the socket, the frame reader's buffer
// while a split message is in flight (both lent by the reactor's BufferPool),
// and the ConnectionExtra below.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "core/buffer_pool.h"
#include "core/handshake.h"
#include "core/http_request.h"
#include "core/message_reader.h"
#include "core/permessage_deflate.h"
#include "core/proxy_protocol.h"
#include "daemon/shared_frames.h"
#include "daemon/tls_session.h"

namespace wsd::daemon {

// Where a connection is in its life, read top to bottom.
enum class Phase : uint8_t {
  ProxyHeader,      // a trusted proxy's PROXY protocol header (proxy_protocol listeners)
  TlsHandshake,     // the TLS handshake (TLS listeners)
  Http,             // reading an HTTP request (upgrade or plain)
  AwaitWorker,      // a worker is answering: custom handshake, headers, or a plain request
  WebSocket,        // established: frames flow
  Closing,          // we sent a close frame and wait for the client's
  Draining,         // the last bytes leave, then the socket closes
};

// Kept only while a handshake or request waits for a worker.
struct PendingRequest {
  enum class Kind : uint8_t { CustomHandshake, BeforeHandshake, Request } kind;
  core::HandshakeResult handshake;    // BeforeHandshake: the built-in answer to complete
  std::string encoded_request;        // for the open event that follows
  bool keep_alive = true;
  bool head = false;                  // a HEAD request: its answer carries no body
  std::string leftover;               // bytes that arrived after the request
};

// What only some connections need, or all of them only for a while: the
// request and handshake, TLS, compression, a deadline, the close reason, rate
// limiting. Allocated on first use (Connection::ext()) and freed by
// Reactor::trim_extra once nothing in it is in use, which is the case for an
// established plain WebSocket connection.
struct ConnectionExtra {
  std::unique_ptr<core::HttpRequestParser> http;     // until the handshake is done
  std::unique_ptr<PendingRequest> pending;
  std::unique_ptr<TlsSession> tls;                   // TLS listeners only
  std::unique_ptr<core::ProxyHeaderParser> proxy;    // only until the PROXY header is read
  std::unique_ptr<core::Deflater> deflater;          // permessage-deflate
  std::unique_ptr<core::Inflater> inflater;
  std::string stash;              // bytes to read again on the next iteration (replay_later)
  std::string close_reason;
  double deadline = 0;            // handshake / close timeout (monotonic seconds), 0 = none
  uint32_t rate_window = 0;       // max_message_rate: the current second (monotonic)
  uint32_t rate_count = 0;        // messages received in it

  bool in_use() const {
    return http || pending || tls || proxy || deflater || inflater || !stash.empty() ||
           !close_reason.empty() || deadline != 0 || rate_count != 0;
  }
};

struct Connection {
  uint64_t id = 0;
  core::MessageReader reader;
  std::unique_ptr<ConnectionExtra> extra;   // see ConnectionExtra; null when idle
  std::unique_ptr<core::Buffer> out;        // bytes not yet written; null when none
  int fd = -1;
  uint32_t list_index = 0;        // position in the reactor's connection list
  uint32_t last_recv_ms = 0;      // when bytes last came in (Reactor::now_ms, heartbeats)
  int16_t plugin = -1;            // route; -1 before routing
  uint16_t worker = 0;            // home worker (open, close, request events)
  uint16_t close_code = 1006;     // reported by the close event
  Phase phase = Phase::Http;
  uint8_t listener = 0;           // index into Settings::listeners
  bool io_wants_write : 1 = false;   // TLS: the last read or handshake step needs the socket writable
  bool websocket : 1 = false;        // the handshake completed
  bool read_paused : 1 = false;      // backpressure from a worker
  bool polled_read : 1 = false;      // EPOLLIN registered (Reactor::update_events)
  bool polled_write : 1 = false;     // EPOLLOUT registered
  bool dirty : 1 = false;            // in the reactor's flush list
  bool doomed : 1 = false;           // in the reactor's free list
  bool lingering : 1 = false;        // half-closed after our close frame, reading until the client closes
  bool close_by_server : 1 = false;
  bool ping_sent : 1 = false;        // heartbeat_ping: a ping went out since the last bytes came in
  bool ip_counted : 1 = false;       // counted in the reactor's per-IP table (max_connection_per_ip)
  bool client_known : 1 = false;     // the client's address is settled (a trusted proxy spoke, or there is none)
  bool peer_half_closed : 1 = false; // EOF while a plain request waits for its answer
  bool read_queued : 1 = false;      // in the reactor's read-again list
  uint16_t read_seq = 0;          // Reactor::reads_ when its bytes were last read (answers leave in arrival order)
  // Fan-out frames (publish, broadcast) queued after `out`, in the reactor's
  // SharedFrames: only while `out` is empty, and only until the flush.
  SharedSpan shared;

  explicit Connection(const core::ReaderOptions& options) : reader(options) {}
  size_t pending_output() const { return (out ? out->size() : 0) + shared.size(); }
  ConnectionExtra& ext() {
    if (!extra) extra = std::make_unique<ConnectionExtra>();
    return *extra;
  }
  TlsSession* tls() const { return extra ? extra->tls.get() : nullptr; }
  core::Deflater* deflater() const { return extra ? extra->deflater.get() : nullptr; }
  double deadline() const { return extra ? extra->deadline : 0; }
  // Which SharedFrames buffer this connection's fan-out frames come from.
  int shared_buffer() const { return deflater() ? SharedFrames::kDeflate : SharedFrames::kPlain; }
};

}  // namespace wsd::daemon
