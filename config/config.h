// The server's configuration: every option with its default. Option names
// follow Swoole's where Swoole has the option, so its manual reads true.
// config/loader.h turns server.yaml (+ --set overrides) into this struct.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace wsd::config {

enum class Mode { Process, Base };

// Swoole's dispatch_mode values.
enum class DispatchMode : int {
  RoundRobin = 1,   // each message to the next worker
  Fixed = 2,        // by connection: a connection's messages stay on one worker (default)
  Preemptive = 3,   // to the least busy worker
  ByIp = 4,         // by client IP
};

enum class LogLevel { Trace, Debug, Info, Warning, Error, Critical, Off };

struct Listener {
  std::string host = "127.0.0.1";
  uint16_t port = 9501;   // 0 = an ephemeral port (tests); the bound port is logged
  // TLS (issue 4): both set = wss:// on this listener. Paths are absolute.
  std::string ssl_cert_file;
  std::string ssl_key_file;
  // Versions offered, each "TLSv1.2" or "TLSv1.3" (these spellings, no
  // repeats, never empty).
  std::vector<std::string> ssl_protocols = {"TLSv1.2", "TLSv1.3"};
  std::string ssl_ciphers;            // OpenSSL cipher list (TLS 1.2); "" = OpenSSL's default
  bool ssl_verify_peer = false;       // require a client certificate signed by...
  std::string ssl_client_cert_file;   // ...these CA certificates (PEM); set when ssl_verify_peer
  // Peers must start with a PROXY protocol v1/v2 header; only peers in
  // trusted_proxies may connect (never empty when this is true).
  bool proxy_protocol = false;
  // Addresses / CIDRs ("10.0.0.0/8", "::1") whose PROXY headers and
  // X-Forwarded-For / X-Real-IP are believed; each passes
  // core::TrustedProxies::add. The listener's own list, else Config's.
  std::vector<std::string> trusted_proxies;
  int line = 0;           // where it was defined, for messages
};

struct Plugin {
  std::string name;                 // unique; used in logs
  std::string file;                 // path of the .so, resolved against the config file's folder
  std::vector<std::string> paths;   // URL path prefixes it serves ("/chat"); empty = none
  bool is_default = false;          // serves paths no other plugin claims
  std::string config_yaml;          // the plugin's own `config:` subtree, as YAML text
  int line = 0;
};

// Several nodes over Redis (docs/cluster.md). Absent: a single node, no Redis.
struct Cluster {
  bool enabled = false;
  std::string redis_host = "127.0.0.1";   // or a unix socket path (redis_unix)
  uint16_t redis_port = 6379;
  std::string redis_unix;                 // "unix:/run/redis.sock" in `redis:` -> the path
  std::string password;                   // AUTH, when set
  int database = 0;                       // SELECT; pub/sub ignores it, the heartbeat keys live there
  std::string channel_prefix = "wsd";     // channels and keys: <prefix>:...
  std::string node_id;                    // this node's name; derived (host name and port) if not given
  int node_number = 0;                    // 1..4095 in connection ids; 0 = derived from node_id
  double heartbeat_interval = 1;          // seconds between liveness announcements
  double heartbeat_ttl = 3;               // a node silent this long is gone
};

struct Config {
  std::string source_file;          // the file it came from ("" for built-in defaults)

  // Processes (Swoole names).
  Mode mode = Mode::Process;
  int worker_num = 2;               // 1..256
  int reactor_num = 1;              // 1..64
  DispatchMode dispatch_mode = DispatchMode::Fixed;
  uint64_t max_request = 0;         // messages before a worker is replaced; 0 = never

  // Listeners: top-level host/port is the first, `listeners:` adds more.
  std::vector<Listener> listeners;
  // The default of each listener's trusted_proxies (already copied into
  // those that set none).
  std::vector<std::string> trusted_proxies;

  // The admin listener (GET /metrics), plain HTTP.
  std::string admin_host = "127.0.0.1";
  int admin_port = -1;              // -1 = off, 0 = ephemeral, else 1..65535

  // Plugins, in the order given; a request goes to the longest matching path prefix.
  std::vector<Plugin> plugins;
  // Folders searched for a plugin `file` that is a bare name not found next to
  // the config file. Default: <folder of wsd>/../plugins (the build tree) and
  // <folder of wsd>/../lib/wsd/plugins (an install).
  std::vector<std::string> plugin_dir;

  // WebSocket protocol (Swoole names).
  std::string websocket_subprotocol;
  bool websocket_compression = false;
  int websocket_compression_window_bits = 15;   // 9..15, caps both directions
  int websocket_compression_mem_level = 8;      // 1..9, zlib memLevel for deflate
  bool open_websocket_close_frame = false;
  bool open_websocket_ping_frame = false;
  bool open_websocket_pong_frame = false;
  uint64_t package_max_length = 2 * 1024 * 1024;  // largest message, in bytes
  std::vector<std::string> allowed_origins;       // empty = any

  // HTTP limits before and outside the handshake.
  uint64_t http_max_header_size = 8192;
  int http_max_headers = 64;

  // Limits and heartbeats (Swoole names; enforced by issue 5's work).
  uint64_t buffer_output_size = 2 * 1024 * 1024;  // pending output per connection
  bool buffer_output_close = false;      // a push finding the buffer full also closes (1008)
  int max_connection = 100000;
  int max_connection_per_ip = 0;         // 0..16777215; 0 = off (HTTP 503 above it)
  double handshake_rate_per_ip = 0;      // handshakes per second per client IP; 0 = off (HTTP 429)
  double max_message_rate = 0;           // messages per second per connection; 0 = off (close 1008)
  double heartbeat_check_interval = 0;   // seconds; 0 = off
  double heartbeat_idle_time = 0;        // seconds; 0 = 2 x check interval
  int heartbeat_close_code = 1001;       // a valid wire close code (core::is_valid_wire_close_code)
  bool heartbeat_ping = false;           // ping a connection idle for heartbeat_idle_time / 2
  double handshake_timeout = 10;         // seconds
  double shutdown_timeout = 5;           // seconds to wait for clients' closes on stop

  // Process management and logs (Swoole names).
  std::string log_file;                  // "" = stderr
  LogLevel log_level = LogLevel::Info;
  std::string pid_file;
  bool daemonize = false;
  std::string user;
  std::string group;
  double worker_respawn_max_delay = 10;  // seconds, > 0: back-off cap for a crashing worker
  double reload_timeout = 30;            // seconds, > 0: one worker's hand-over during a reload

  Cluster cluster;
};

}  // namespace wsd::config
