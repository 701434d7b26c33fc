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
  // TLS (issue 4): both set = wss:// on this listener.
  std::string ssl_cert_file;
  std::string ssl_key_file;
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
  int max_connection = 100000;
  double heartbeat_check_interval = 0;   // seconds; 0 = off
  double heartbeat_idle_time = 0;        // seconds; 0 = 2 x check interval
  double handshake_timeout = 10;         // seconds
  double shutdown_timeout = 5;           // seconds to wait for clients' closes on stop

  // Process management and logs (Swoole names).
  std::string log_file;                  // "" = stderr
  LogLevel log_level = LogLevel::Info;
  std::string pid_file;
  bool daemonize = false;
  std::string user;
  std::string group;
};

}  // namespace wsd::config
