#include "daemon/settings.h"

#include <spdlog/spdlog.h>

namespace wsd::daemon {

Settings make_settings(const config::Config& c) {
  Settings s;
  s.config = &c;
  s.http.max_header_bytes = c.http_max_header_size;
  s.http.max_headers = static_cast<size_t>(c.http_max_headers);
  s.http.max_body_bytes = c.package_max_length;
  s.handshake.subprotocol = c.websocket_subprotocol;
  s.handshake.allowed_origins = c.allowed_origins;
  s.handshake.deflate.enabled = c.websocket_compression;
  s.handshake.deflate.max_window_bits = c.websocket_compression_window_bits;
  s.handshake.deflate.mem_level = c.websocket_compression_mem_level;
  s.reader.max_message_size = c.package_max_length;
  s.reader.expect_masked = true;
  s.package_max_length = c.package_max_length;
  s.buffer_output_size = c.buffer_output_size;
  s.max_connection = static_cast<uint32_t>(c.max_connection);
  s.worker_num = c.worker_num;
  s.reactor_num = c.reactor_num;
  s.dispatch_mode = c.dispatch_mode;
  s.open_close_frame = c.open_websocket_close_frame;
  s.open_ping_frame = c.open_websocket_ping_frame;
  s.open_pong_frame = c.open_websocket_pong_frame;
  s.handshake_timeout = c.handshake_timeout;
  s.close_timeout = c.shutdown_timeout > 0 ? c.shutdown_timeout : 5;
  s.buffer_output_close = c.buffer_output_close;
  s.max_connection_per_ip = c.max_connection_per_ip > 0 ? static_cast<uint32_t>(c.max_connection_per_ip) : 0;
  s.handshake_rate_per_ip = c.handshake_rate_per_ip > 0 ? c.handshake_rate_per_ip : 0;
  s.max_message_rate = c.max_message_rate > 0 ? c.max_message_rate : 0;
  s.heartbeat_interval = c.heartbeat_check_interval > 0 ? c.heartbeat_check_interval : 0;
  s.heartbeat_idle = c.heartbeat_idle_time > 0 ? c.heartbeat_idle_time : 2 * s.heartbeat_interval;
  s.heartbeat_close_code = static_cast<uint16_t>(c.heartbeat_close_code);
  s.heartbeat_ping = c.heartbeat_ping;
  return s;
}

bool load_listeners(Settings& s, const config::Config& c, std::string& error) {
  s.listeners.clear();
  for (const config::Listener& l : c.listeners) {
    ListenerRuntime rt;
    std::string where = l.host + ":" + std::to_string(l.port);
    if (!l.ssl_cert_file.empty()) {
      TlsSettings tls;
      tls.cert_file = l.ssl_cert_file;
      tls.key_file = l.ssl_key_file;
      tls.protocols = l.ssl_protocols;
      tls.ciphers = l.ssl_ciphers;
      tls.verify_peer = l.ssl_verify_peer;
      tls.client_ca_file = l.ssl_client_cert_file;
      rt.tls = std::make_shared<TlsContextHolder>();
      std::string why;
      if (!rt.tls->load(tls, why)) {
        error = "listener " + where + ": " + why;
        return false;
      }
    }
    rt.proxy_protocol = l.proxy_protocol;
    rt.trusted = std::make_shared<core::TrustedProxies>();
    for (const std::string& cidr : l.trusted_proxies) {
      std::string why;
      if (!rt.trusted->add(cidr, why)) {
        error = "listener " + where + ": trusted_proxies: " + why;
        return false;
      }
    }
    s.listeners.push_back(std::move(rt));
  }
  return true;
}

void reload_certificates(Settings& s) {
  for (size_t i = 0; i < s.listeners.size(); ++i) {
    if (!s.listeners[i].tls) continue;
    std::string why;
    if (s.listeners[i].tls->reload(why)) {
      spdlog::info("listener {}: certificate reloaded", i);
    } else {
      spdlog::error("listener {}: new certificate refused, the old one stays in use: {}", i, why);
    }
  }
}

}  // namespace wsd::daemon
