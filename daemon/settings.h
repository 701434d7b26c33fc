// What the reactors and workers need from the config, in the forms core/
// takes, built once at start.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "config/config.h"
#include "core/handshake.h"
#include "core/http_request.h"
#include "core/forwarded.h"
#include "core/message_reader.h"
#include "daemon/tls_context.h"

namespace wsd::daemon {

// What a listener does beyond accepting: TLS, and which proxies it believes.
struct ListenerRuntime {
  std::shared_ptr<TlsContextHolder> tls;            // null: plain
  bool proxy_protocol = false;                      // a PROXY header comes first
  std::shared_ptr<core::TrustedProxies> trusted;    // PROXY headers and X-Forwarded-For from these only
};

struct Settings {
  const config::Config* config = nullptr;
  core::HttpLimits http;
  core::HandshakeConfig handshake;
  core::ReaderOptions reader;
  uint64_t package_max_length = 0;
  uint64_t buffer_output_size = 0;
  uint32_t max_connection = 0;
  int worker_num = 1;
  int reactor_num = 1;
  config::DispatchMode dispatch_mode = config::DispatchMode::Fixed;
  bool open_close_frame = false;
  bool open_ping_frame = false;
  bool open_pong_frame = false;
  double handshake_timeout = 10;
  double close_timeout = 5;        // wait for the client's close reply
  // Limits and heartbeats (docs/configuration.md), 0 = off.
  bool buffer_output_close = false;
  uint32_t max_connection_per_ip = 0;   // per reactor (PROCESS mode splits it across reactors)
  double handshake_rate_per_ip = 0;     // per second, per reactor
  double max_message_rate = 0;          // per connection, per second
  double heartbeat_interval = 0;        // seconds between idle checks; 0 = heartbeats off
  double heartbeat_idle = 0;            // idle time before the close
  uint16_t heartbeat_close_code = 1001;
  bool heartbeat_ping = false;
  std::vector<ListenerRuntime> listeners;   // by listener index (load_listeners)
};

Settings make_settings(const config::Config& config);

// Loads each listener's TLS context and trusted proxies; false with `error`
// naming the listener and the reason (a key that does not match, ...).
bool load_listeners(Settings& settings, const config::Config& config, std::string& error);

// Re-reads every TLS listener's certificate and key (SIGHUP). A listener whose
// new files do not load keeps serving with the old ones; the log says why.
void reload_certificates(Settings& settings);

}  // namespace wsd::daemon
