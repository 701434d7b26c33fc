// The table of top-level options: name, type, range, field.
#include <cstdint>
#include <cstring>

#include "config/schema.h"
#include "config/values.h"
#include "core/close_code.h"

namespace wsd::config {

namespace {

using K = Key<Draft>;

K integer(const char* name, int Config::*field, int64_t lo, int64_t hi) {
  return {name, [=](Context& ctx, const YAML::Node& v, const std::string& key, Draft& d) {
            int64_t n = 0;
            if (read_int(ctx, v, key, lo, hi, n)) d.config.*field = static_cast<int>(n);
          }};
}

// A count with no upper bound, stored unsigned.
K count(const char* name, uint64_t Config::*field) {
  return {name, [=](Context& ctx, const YAML::Node& v, const std::string& key, Draft& d) {
            int64_t n = 0;
            if (read_int(ctx, v, key, 0, INT64_MAX, n)) d.config.*field = static_cast<uint64_t>(n);
          }};
}

K size(const char* name, uint64_t Config::*field, uint64_t lo, uint64_t hi = UINT64_MAX) {
  return {name, [=](Context& ctx, const YAML::Node& v, const std::string& key, Draft& d) {
            read_size(ctx, v, key, lo, hi, d.config.*field);
          }};
}

// `positive`: must be > 0; otherwise >= 0.
K duration(const char* name, double Config::*field, bool positive = false) {
  return {name, [=](Context& ctx, const YAML::Node& v, const std::string& key, Draft& d) {
            read_duration(ctx, v, key, 0, positive, d.config.*field);
          }};
}

// A plain number >= 0 (a rate per second).
K rate(const char* name, double Config::*field) {
  return {name, [=](Context& ctx, const YAML::Node& v, const std::string& key, Draft& d) {
            read_number(ctx, v, key, 0, d.config.*field);
          }};
}

K flag(const char* name, bool Config::*field) {
  return {name, [=](Context& ctx, const YAML::Node& v, const std::string& key, Draft& d) {
            read_bool(ctx, v, key, d.config.*field);
          }};
}

K text(const char* name, std::string Config::*field) {
  return {name, [=](Context& ctx, const YAML::Node& v, const std::string& key, Draft& d) {
            read_string(ctx, v, key, d.config.*field);
          }};
}

K texts(const char* name, std::vector<std::string> Config::*field) {
  return {name, [=](Context& ctx, const YAML::Node& v, const std::string& key, Draft& d) {
            read_strings(ctx, v, key, d.config.*field);
          }};
}

// `names` in the order of E's values.
template <class E>
K choice(const char* name, E Config::*field, std::vector<std::string_view> names) {
  return {name, [=](Context& ctx, const YAML::Node& v, const std::string& key, Draft& d) {
            size_t i = 0;
            if (read_choice(ctx, v, key, names, i)) d.config.*field = static_cast<E>(i);
          }};
}

K dispatch_mode() {
  return {"dispatch_mode", [](Context& ctx, const YAML::Node& v, const std::string& key, Draft& d) {
            int64_t n = 0;
            if (read_int(ctx, v, key, 1, 4, n)) d.config.dispatch_mode = static_cast<DispatchMode>(n);
          }};
}

K plugin_dir() {
  return {"plugin_dir", [](Context& ctx, const YAML::Node& v, const std::string& key, Draft& d) {
            std::vector<std::string> dirs;
            if (!read_strings(ctx, v, key, dirs)) return;
            d.config.plugin_dir.clear();
            for (const std::string& dir : dirs) d.config.plugin_dir.push_back(resolve_path(dir, ctx.base_dir()));
            d.plugin_dir_given = true;
          }};
}

K trusted_proxies() {
  return {"trusted_proxies", [](Context& ctx, const YAML::Node& v, const std::string& key, Draft& d) {
            if (!read_trusted_proxies(ctx, v, key, d.config.trusted_proxies)) d.trusted_proxies_invalid = true;
          }};
}

K admin_host() {
  return {"admin_host", [](Context& ctx, const YAML::Node& v, const std::string& key, Draft& d) {
            std::string host;
            if (!read_string(ctx, v, key, host)) return;
            if (host.empty()) {
              ctx.error(v, key, "must not be empty");
            } else {
              d.config.admin_host = host;
            }
          }};
}

// A code the server may send in a close frame to a conforming client.
K close_code(const char* name, int Config::*field) {
  return {name, [=](Context& ctx, const YAML::Node& v, const std::string& key, Draft& d) {
            int64_t n = 0;
            if (!read_int(ctx, v, key, INT64_MIN, INT64_MAX, n)) return;
            if (n < 0 || n > 65535 || !core::is_valid_wire_close_code(static_cast<uint16_t>(n))) {
              ctx.error(v, key, "must be a close code valid on the wire: 1000-1003, 1007-1014 or 3000-4999 (got " +
                                    std::to_string(n) + ")");
              return;
            }
            d.config.*field = static_cast<int>(n);
          }};
}

// Lists read after the plain options (see Draft).
K deferred(const char* name, YAML::Node Draft::*field) {
  return {name, [=](Context&, const YAML::Node& v, const std::string&, Draft& d) { (d.*field).reset(v); }};
}

std::vector<K> build_keys() {
  std::vector<K> keys = {
      choice("mode", &Config::mode, {"process", "base"}),
      integer("worker_num", &Config::worker_num, 1, 256),
      integer("reactor_num", &Config::reactor_num, 1, 64),
      dispatch_mode(),
      count("max_request", &Config::max_request),
      deferred("listeners", &Draft::listeners),
      trusted_proxies(),
      admin_host(),
      integer("admin_port", &Config::admin_port, -1, 65535),
      deferred("plugins", &Draft::plugins),
      deferred("cluster", &Draft::cluster),
      plugin_dir(),
      text("websocket_subprotocol", &Config::websocket_subprotocol),
      flag("websocket_compression", &Config::websocket_compression),
      integer("websocket_compression_window_bits", &Config::websocket_compression_window_bits, 9, 15),
      integer("websocket_compression_mem_level", &Config::websocket_compression_mem_level, 1, 9),
      flag("open_websocket_close_frame", &Config::open_websocket_close_frame),
      flag("open_websocket_ping_frame", &Config::open_websocket_ping_frame),
      flag("open_websocket_pong_frame", &Config::open_websocket_pong_frame),
      size("package_max_length", &Config::package_max_length, 1, uint64_t{1} << 30),
      texts("allowed_origins", &Config::allowed_origins),
      size("http_max_header_size", &Config::http_max_header_size, 1024, uint64_t{1} << 20),
      integer("http_max_headers", &Config::http_max_headers, 1, 1000),
      size("buffer_output_size", &Config::buffer_output_size, 1024),
      flag("buffer_output_close", &Config::buffer_output_close),
      integer("max_connection", &Config::max_connection, 1, 16777215),
      integer("max_connection_per_ip", &Config::max_connection_per_ip, 0, 16777215),
      rate("handshake_rate_per_ip", &Config::handshake_rate_per_ip),
      rate("max_message_rate", &Config::max_message_rate),
      duration("heartbeat_check_interval", &Config::heartbeat_check_interval),
      duration("heartbeat_idle_time", &Config::heartbeat_idle_time),
      close_code("heartbeat_close_code", &Config::heartbeat_close_code),
      flag("heartbeat_ping", &Config::heartbeat_ping),
      duration("handshake_timeout", &Config::handshake_timeout, true),
      duration("shutdown_timeout", &Config::shutdown_timeout),
      text("log_file", &Config::log_file),
      choice("log_level", &Config::log_level, {"trace", "debug", "info", "warning", "error", "critical", "off"}),
      text("pid_file", &Config::pid_file),
      flag("daemonize", &Config::daemonize),
      text("user", &Config::user),
      text("group", &Config::group),
      duration("worker_respawn_max_delay", &Config::worker_respawn_max_delay, true),
      duration("reload_timeout", &Config::reload_timeout, true),
  };
  // host, port, ssl_*, proxy_protocol: the first listener. trusted_proxies
  // is Config's (above); read_listeners copies it into the first.
  for (const Key<Listener>& lk : listener_keys()) {
    if (std::strcmp(lk.name, "trusted_proxies") == 0) continue;
    keys.push_back({lk.name, [read = lk.read](Context& ctx, const YAML::Node& v, const std::string& key, Draft& d) {
                      read(ctx, v, key, d.first);
                    }});
  }
  return keys;
}

const std::vector<K>& top_level_keys() {
  static const std::vector<K> keys = build_keys();
  return keys;
}

}  // namespace

void read_options(Context& ctx, const YAML::Node& root, Draft& draft) {
  read_map(ctx, root, "", top_level_keys(), draft);
  Config& c = draft.config;
  if (c.heartbeat_idle_time == 0 && c.heartbeat_check_interval > 0) {
    c.heartbeat_idle_time = 2 * c.heartbeat_check_interval;
  }
  if (!draft.plugin_dir_given) c.plugin_dir = default_plugin_dirs();
}

std::vector<std::string> option_names() {
  std::vector<std::string> names;
  for (const K& k : top_level_keys()) names.emplace_back(k.name);
  return names;
}

}  // namespace wsd::config
