// One client connection as a reactor holds it. Idle, it owns no buffers:
// the HTTP parser lives only until the handshake is done, the output string
// only holds bytes while the socket is full, and the frame reader keeps a
// partial message only while one is in flight.
#pragma once

#include <event2/event_struct.h>

#include <cstdint>
#include <memory>
#include <netinet/in.h>
#include <string>

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

struct Connection {
  uint64_t id = 0;
  int fd = -1;
  Phase phase = Phase::Http;
  int16_t plugin = -1;            // route; -1 before routing
  uint16_t worker = 0;            // home worker (open, close, request events)
  uint16_t server_port = 0;
  uint8_t listener = 0;           // index into Settings::listeners
  bool io_wants_write = false;    // TLS: the last read or handshake step needs the socket writable
  bool websocket = false;         // the handshake completed
  bool read_paused = false;       // backpressure from a worker
  bool want_write = false;        // EV_WRITE armed
  bool dirty = false;             // in the reactor's flush list
  bool doomed = false;            // in the reactor's free list
  bool lingering = false;         // half-closed after our close frame, reading until the client closes
  bool close_by_server = false;
  bool ping_sent = false;         // heartbeat_ping: a ping went out since the last bytes came in
  bool ip_counted = false;        // counted in the reactor's per-IP table (max_connection_per_ip)
  bool client_known = false;
  bool peer_half_closed = false;  // EOF while a plain request waits for its answer      // the client's address is settled (a trusted proxy spoke, or there is none)
  uint32_t rate_window = 0;       // max_message_rate: the current second (monotonic)
  uint32_t rate_count = 0;        // messages received in it
  uint16_t close_code = 1006;     // reported by the close event
  std::string close_reason;
  double deadline = 0;            // handshake / close timeout (monotonic seconds), 0 = none
  double last_recv = 0;           // monotonic seconds of the last bytes received (heartbeats)
  uint32_t list_index = 0;        // position in the reactor's connection list
  sockaddr_in6 peer{};            // AF_INET peers stored as AF_INET in the same storage

  struct event ev;                // one libevent event, re-armed for read/write as needed
  std::unique_ptr<core::HttpRequestParser> http;
  std::unique_ptr<PendingRequest> pending;
  std::unique_ptr<std::string> stash;
  std::unique_ptr<TlsSession> tls;                       // TLS listeners only
  std::unique_ptr<core::ProxyHeaderParser> proxy;        // only until the PROXY header is read   // bytes to read again on the next iteration (replay_later)
  std::unique_ptr<core::Deflater> deflater;
  std::unique_ptr<core::Inflater> inflater;
  core::MessageReader reader;
  std::string out;                // bytes not yet written
  size_t out_head = 0;
  // Fan-out frames (publish, broadcast) queued after `out`, in the reactor's
  // SharedFrames: only while `out` is empty, and only until the flush.
  SharedSpan shared;

  explicit Connection(const core::ReaderOptions& options) : reader(options) {}
  size_t pending_output() const { return out.size() - out_head + shared.size(); }
  // Which SharedFrames buffer this connection's fan-out frames come from.
  int shared_buffer() const { return deflater ? SharedFrames::kDeflate : SharedFrames::kPlain; }
};

}  // namespace wsd::daemon
