/*
 * wsd plugin ABI: what a plugin .so exports and what the server offers it.
 *
 * Plain C on purpose: a plugin can be written in C, C++, Rust or Zig, and a
 * plugin built against another ABI version is refused at load. Everything a
 * callback receives by pointer is valid only during that callback; copy what
 * you keep.
 *
 * A plugin exports one function, WSD_PLUGIN_ENTRY_SYMBOL:
 *
 *   const wsd_plugin *wsd_plugin_entry(uint32_t host_abi_version, const wsd_api *api);
 *
 * It keeps `api` (valid for the life of the worker) and returns its
 * descriptor, or NULL to refuse to load. See docs/plugin-api.md.
 */
#ifndef WSD_PLUGIN_H
#define WSD_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Bumped on every incompatible change of this header. */
#define WSD_PLUGIN_ABI_VERSION 1u
#define WSD_PLUGIN_ENTRY_SYMBOL "wsd_plugin_entry"

/* Frame opcodes (Swoole: WEBSOCKET_OPCODE_*). */
enum {
  WSD_OPCODE_CONTINUATION = 0x0,
  WSD_OPCODE_TEXT = 0x1,
  WSD_OPCODE_BINARY = 0x2,
  WSD_OPCODE_CLOSE = 0x8,
  WSD_OPCODE_PING = 0x9,
  WSD_OPCODE_PONG = 0xA
};

/* Frame flags (Swoole: SWOOLE_WEBSOCKET_FLAG_*). */
enum { WSD_FLAG_FIN = 1, WSD_FLAG_COMPRESS = 2 };

/* Connection status (Swoole: WEBSOCKET_STATUS_*). */
enum {
  WSD_STATUS_CONNECTION = 1, /* waiting for the handshake */
  WSD_STATUS_HANDSHAKE = 2,  /* handshake in progress */
  WSD_STATUS_ACTIVE = 3,     /* established */
  WSD_STATUS_CLOSING = 4     /* close handshake under way */
};

/* Close codes (Swoole: WEBSOCKET_CLOSE_*). */
enum {
  WSD_CLOSE_NORMAL = 1000,
  WSD_CLOSE_GOING_AWAY = 1001,
  WSD_CLOSE_PROTOCOL_ERROR = 1002,
  WSD_CLOSE_DATA_ERROR = 1003,
  WSD_CLOSE_STATUS_ERROR = 1005,
  WSD_CLOSE_ABNORMAL = 1006,
  WSD_CLOSE_MESSAGE_ERROR = 1007,
  WSD_CLOSE_POLICY_ERROR = 1008,
  WSD_CLOSE_MESSAGE_TOO_BIG = 1009,
  WSD_CLOSE_EXTENSION_MISSING = 1010,
  WSD_CLOSE_SERVER_ERROR = 1011,
  WSD_CLOSE_TLS = 1015
};

/* What a method returns: WSD_OK or why it failed. Failures are counted, not logged. */
typedef enum wsd_result {
  WSD_OK = 0,
  WSD_ERR_NO_CONNECTION = -1,   /* unknown id, or the connection has closed */
  WSD_ERR_NOT_WEBSOCKET = -2,   /* not an established WebSocket connection */
  WSD_ERR_TOO_BIG = -3,         /* data longer than package_max_length */
  WSD_ERR_BUFFER_FULL = -4,     /* the connection's output (buffer_output_size) or the IPC path is full */
  WSD_ERR_INVALID = -5,         /* bad argument: close code, reason length, opcode */
  WSD_ERR_NOT_SUPPORTED = -6    /* e.g. a connection of another worker in BASE mode */
} wsd_result;

enum { WSD_LOG_TRACE = 0, WSD_LOG_DEBUG, WSD_LOG_INFO, WSD_LOG_WARN, WSD_LOG_ERROR, WSD_LOG_CRITICAL };

/* A connection id: 64-bit, opaque, never reused while the server runs. */
typedef uint64_t wsd_conn_t;

/* A byte string that is not NUL-terminated. */
typedef struct wsd_str {
  const char *data;
  size_t len;
} wsd_str;

typedef struct wsd_header {
  wsd_str name;
  wsd_str value;
} wsd_header;

/* The HTTP request of a handshake, an open event, or a plain request. */
typedef struct wsd_request {
  wsd_conn_t conn;
  wsd_str method;       /* "GET" */
  wsd_str target;       /* "/chat?room=1" */
  wsd_str path;         /* "/chat" */
  wsd_str query;        /* "room=1" */
  const wsd_header *headers;
  size_t header_count;
  wsd_str body;
  wsd_str remote_addr;  /* textual IP of the client */
  uint16_t remote_port; /* the real client: after a PROXY header or X-Forwarded-For from a trusted proxy */
  uint16_t server_port; /* the listener's port */
  wsd_str peer_addr;    /* the TCP peer (the proxy, when there is one) */
  uint16_t peer_port;
} wsd_request;

/* A message (or, when asked for, a control frame) received from a client. */
typedef struct wsd_frame {
  wsd_conn_t conn;
  const char *data;
  size_t len;
  uint8_t opcode;       /* WSD_OPCODE_* */
  uint8_t flags;        /* WSD_FLAG_FIN (always: messages arrive reassembled), WSD_FLAG_COMPRESS if it came compressed */
  uint8_t finish;       /* 1: the manual's $frame->finish */
  uint16_t code;        /* close frames: status code */
  wsd_str reason;       /* close frames: reason */
} wsd_frame;

/* Why and how a WebSocket connection ended (the close event). */
typedef struct wsd_close_info {
  wsd_conn_t conn;
  uint16_t code;        /* the close code; 1006 when the TCP connection just ended */
  wsd_str reason;
  uint8_t by_server;    /* 1: the server closed (disconnect, error, shutdown); 0: the client did */
} wsd_close_info;

typedef struct wsd_client_info {
  uint32_t struct_size;     /* set by the caller: sizeof(wsd_client_info) */
  char remote_ip[46];
  uint16_t remote_port;
  uint16_t server_port;
  int64_t connect_time;     /* unix seconds */
  int64_t last_time;        /* unix seconds of the last data received */
  int websocket_status;     /* WSD_STATUS_*; 0 for a plain HTTP connection */
  int reactor_id;
  int worker_id;            /* the worker its events go to */
  int tls;                  /* 1: the connection came in on a TLS listener (wss://) */
  char peer_ip[46];         /* the TCP peer: differs from remote_ip behind a trusted proxy */
  uint16_t peer_port;
} wsd_client_info;

/* Server statistics (Swoole's stats()), read from shared memory: no round
   trip. Counters count since the server started; they survive worker
   restarts and reloads. Set struct_size before the call. */
typedef struct wsd_stats {
  uint32_t struct_size;         /* set by the caller: sizeof(wsd_stats) */
  uint32_t worker_num;
  int64_t start_time;           /* unix seconds */
  uint64_t connection_num;      /* connections now (TCP, before and after the handshake) */
  uint64_t accept_count;        /* connections accepted */
  uint64_t close_count;         /* connections closed */
  uint64_t refused_count;       /* refused: max_connection, per-IP limits */
  uint64_t handshake_failures;  /* requests that did not become a WebSocket (any reason) */
  uint64_t request_count;       /* events handed to plugins: messages, opens, requests, closes */
  uint64_t messages_in;         /* WebSocket messages received from clients */
  uint64_t messages_out;        /* WebSocket data frames sent to clients */
  uint64_t bytes_in;            /* bytes read from client sockets */
  uint64_t bytes_out;           /* bytes written to client sockets */
  uint64_t pushes_refused;      /* push and friends that failed (any reason) */
  uint64_t lost_events;         /* taken by a worker that died before finishing them */
  uint64_t worker_restarts;     /* workers replaced: crash, reload, max_request */
  uint64_t topic_count;         /* topics with at least one subscriber */
  uint64_t cluster_nodes;       /* live cluster nodes, this one included (1 without a cluster) */
  uint64_t cluster_connection_num; /* connections on all live nodes, as of the last heartbeat
                                      (connection_num without a cluster) */
} wsd_stats;

/* One worker's counters (the current process in that worker slot, and the
   slot's totals). */
typedef struct wsd_worker_stats {
  uint32_t struct_size;         /* set by the caller: sizeof(wsd_worker_stats) */
  int32_t pid;                  /* the worker process now in the slot; 0 if none */
  uint64_t request_count;       /* events handled by the process now in the slot (max_request counts these messages) */
  uint64_t total_request_count; /* events handled by every process that held the slot */
  uint64_t messages;            /* messages handled, slot total */
  uint64_t pushes;              /* pushes sent, slot total */
  uint64_t pushes_refused;      /* failed push / disconnect / close calls, slot total */
  uint64_t restarts;            /* times the slot's process was replaced */
  uint64_t queue_bytes;         /* bytes queued on the IPC channels towards it, now */
} wsd_worker_stats;

typedef struct wsd_ctx wsd_ctx;           /* one plugin in one worker */
typedef struct wsd_response wsd_response; /* the answer to a handshake or request */

typedef void (*wsd_defer_fn)(wsd_ctx *ctx, void *arg);
typedef void (*wsd_timer_fn)(wsd_ctx *ctx, uint64_t timer_id, void *arg);

/* What the server offers. Callable from any callback or timer of the worker. */
typedef struct wsd_api {
  uint32_t abi_version;
  uint32_t struct_size;

  /* Sending. push works for connections of any worker (routed by the master). */
  int (*push)(wsd_ctx *ctx, wsd_conn_t conn, const void *data, size_t len, int opcode, int flags);
  /* The Frame variant: frame->opcode, data, flags; for WSD_OPCODE_CLOSE code and reason. */
  int (*push_frame)(wsd_ctx *ctx, wsd_conn_t conn, const wsd_frame *frame);
  /* Close frame with code (1000 or 4000-4999) and reason (<= 125 bytes UTF-8), then close. */
  int (*disconnect)(wsd_ctx *ctx, wsd_conn_t conn, int code, const char *reason, size_t reason_len);
  /* Close the TCP connection without a close frame. */
  int (*close)(wsd_ctx *ctx, wsd_conn_t conn);

  /* Connection table (no round trip to the master). */
  int (*exist)(wsd_ctx *ctx, wsd_conn_t conn);
  int (*is_established)(wsd_ctx *ctx, wsd_conn_t conn);
  int (*get_client_info)(wsd_ctx *ctx, wsd_conn_t conn, wsd_client_info *out);
  /* Iteration: start with *cursor = 0; fills up to max ids; returns how many
     (0 at the end). Only established WebSocket connections when
     websocket_only is 1. */
  size_t (*connections)(wsd_ctx *ctx, uint64_t *cursor, wsd_conn_t *out, size_t max, int websocket_only);

  /* The manual's pack/unpack. pack writes a complete server frame into out and
     returns its size (or the size needed, when larger than cap). unpack
     decodes one frame: its payload is copied into payload_out (cap bytes) and
     frame->data points there; returns the bytes the frame occupied, 0 when
     incomplete or invalid. */
  size_t (*pack)(const void *data, size_t len, int opcode, int flags, void *out, size_t cap);
  size_t (*unpack)(const void *data, size_t len, wsd_frame *frame, void *payload_out, size_t cap);

  /* Scheduling on the worker's loop. */
  int (*defer)(wsd_ctx *ctx, wsd_defer_fn fn, void *arg);
  uint64_t (*after)(wsd_ctx *ctx, uint64_t ms, wsd_timer_fn fn, void *arg);
  uint64_t (*tick)(wsd_ctx *ctx, uint64_t ms, wsd_timer_fn fn, void *arg);
  int (*clear_timer)(wsd_ctx *ctx, uint64_t timer_id);

  /* Logging through the server's logger (printf format). */
  void (*log)(wsd_ctx *ctx, int level, const char *fmt, ...)
#if defined(__GNUC__)
      __attribute__((format(printf, 3, 4)))
#endif
      ;

  int (*worker_id)(wsd_ctx *ctx);
  int (*worker_num)(wsd_ctx *ctx);

  /* The plugin's own `config:` subtree of server.yaml, as YAML text, and one
     scalar of it by dotted path ("limits.rooms"); {NULL, 0} when absent. */
  wsd_str (*config_yaml)(wsd_ctx *ctx);
  wsd_str (*config_get)(wsd_ctx *ctx, const char *dotted_key);

  /* Plugin state for this worker. */
  void (*set_user)(wsd_ctx *ctx, void *user);
  void *(*user)(wsd_ctx *ctx);

  /* Request helpers: a header (case-insensitive, first value), a cookie, a
     query parameter (percent-decoded into out; returns its length, or the
     size needed when larger than cap; -1 when absent). */
  wsd_str (*request_header)(const wsd_request *req, const char *name);
  wsd_str (*request_cookie)(const wsd_request *req, const char *name);
  long (*request_query)(const wsd_request *req, const char *key, char *out, size_t cap);

  /* Responses to handshake and request events. */
  void (*response_status)(wsd_response *resp, int status);
  void (*response_header)(wsd_response *resp, const char *name, const char *value);
  void (*response_write)(wsd_response *resp, const void *data, size_t len);
  void (*response_end)(wsd_response *resp);

  /* Statistics (Swoole's stats()): WSD_OK, or WSD_ERR_INVALID for a bad
     worker index or struct_size. */
  int (*stats)(wsd_ctx *ctx, wsd_stats *out);
  int (*worker_stats)(wsd_ctx *ctx, int worker, wsd_worker_stats *out);

  /* Topics (publish/subscribe). Membership ends with the connection. A topic
     is 1..255 bytes. subscribe/unsubscribe work for a connection of any
     worker; publish sends the frame to every subscriber of the topic and
     broadcast to every established WebSocket connection: the frame is
     encoded once (compressed once, when WSD_FLAG_COMPRESS is set and the
     client negotiated permessage-deflate) and shared by all recipients. In
     BASE mode both reach the connections of the calling worker's process
     only. Each recipient's buffer_output_size applies. */
  int (*subscribe)(wsd_ctx *ctx, wsd_conn_t conn, const char *topic, size_t topic_len);
  int (*unsubscribe)(wsd_ctx *ctx, wsd_conn_t conn, const char *topic, size_t topic_len);
  int (*publish)(wsd_ctx *ctx, const char *topic, size_t topic_len, const void *data, size_t len, int opcode,
                 int flags);
  int (*broadcast)(wsd_ctx *ctx, const void *data, size_t len, int opcode, int flags);

  /* Cluster (docs/cluster.md). With a `cluster:` section, connection ids say
     which node holds them, and push, push_frame, disconnect, close, exist,
     is_established, publish and broadcast reach every node. cluster_nodes
     fills out with up to max live node numbers (this one included) and
     returns how many are live (0 without a cluster); node_number is this
     node's (0 without a cluster). Check struct_size before calling them. */
  size_t (*cluster_nodes)(wsd_ctx *ctx, uint16_t *out, size_t max);
  int (*node_number)(wsd_ctx *ctx);
} wsd_api;

/* The plugin's events (Swoole's). Any may be NULL. */
typedef struct wsd_plugin {
  uint32_t abi_version;   /* WSD_PLUGIN_ABI_VERSION */
  uint32_t struct_size;   /* sizeof(wsd_plugin) */
  const char *name;

  /* The worker loaded the plugin / is about to stop. Return non-zero from
     worker_start to fail the start (logged). */
  int (*on_worker_start)(wsd_ctx *ctx);
  void (*on_worker_stop)(wsd_ctx *ctx);

  /* Custom handshake: set status 101 and the headers yourself and call
     response_end; anything else refuses the connection. When set, on_open is
     not called (use defer for your open logic). */
  void (*on_handshake)(wsd_ctx *ctx, const wsd_request *req, wsd_response *resp);
  /* Built-in handshake, before its 101 leaves: add headers with response_header. */
  void (*on_before_handshake_response)(wsd_ctx *ctx, const wsd_request *req, wsd_response *resp);
  void (*on_open)(wsd_ctx *ctx, const wsd_request *req);
  void (*on_message)(wsd_ctx *ctx, const wsd_frame *frame);
  /* Plain HTTP. Without it an HTTP request is answered 400. */
  void (*on_request)(wsd_ctx *ctx, const wsd_request *req, wsd_response *resp);
  /* A WebSocket connection ended: exactly once per connection, whatever the cause. */
  void (*on_close)(wsd_ctx *ctx, const wsd_close_info *info);
  /* A non-WebSocket connection ended. */
  void (*on_disconnect)(wsd_ctx *ctx, wsd_conn_t conn);
} wsd_plugin;

typedef const wsd_plugin *(*wsd_plugin_entry_fn)(uint32_t host_abi_version, const wsd_api *api);

#ifdef __cplusplus
}
#endif

#endif /* WSD_PLUGIN_H */
