// Listeners: the top-level host/port (and TLS files) is the first; each
// `listeners:` entry adds one.
#include <filesystem>

#include "config/schema.h"
#include "config/values.h"

namespace wsd::config {

namespace {

using L = Key<Listener>;

// The listener's line is where its first key was written.
void note_line(Context& ctx, const YAML::Node& v, Listener& l) {
  if (l.line == 0) l.line = ctx.line(v);
}

// A TLS file, resolved against the config's folder; it must exist.
L tls_file(const char* name, std::string Listener::*field) {
  return {name, [=](Context& ctx, const YAML::Node& v, const std::string& key, Listener& l) {
            std::string path;
            if (!read_string(ctx, v, key, path)) return;
            note_line(ctx, v, l);
            if (path.empty()) {
              l.*field = path;
              return;
            }
            std::string resolved = resolve_path(path, ctx.base_dir());
            std::error_code ec;
            if (!std::filesystem::exists(resolved, ec)) {
              ctx.error(v, key, "no such file: " + resolved);
              return;
            }
            l.*field = resolved;
          }};
}

std::vector<L> build_keys() {
  return {
      {"host",
       [](Context& ctx, const YAML::Node& v, const std::string& key, Listener& l) {
         std::string host;
         if (!read_string(ctx, v, key, host)) return;
         note_line(ctx, v, l);
         if (host.empty()) {
           ctx.error(v, key, "must not be empty");
         } else {
           l.host = host;
         }
       }},
      {"port",
       [](Context& ctx, const YAML::Node& v, const std::string& key, Listener& l) {
         int64_t port = 0;
         if (!read_int(ctx, v, key, 0, 65535, port)) return;
         note_line(ctx, v, l);
         l.port = static_cast<uint16_t>(port);
       }},
      tls_file("ssl_cert_file", &Listener::ssl_cert_file),
      tls_file("ssl_key_file", &Listener::ssl_key_file),
  };
}

// Both TLS files or neither, looked up in `map` (the listener's map, or the
// top level for the first listener).
void check_tls(Context& ctx, const YAML::Node& map, std::string_view prefix, const Listener& l) {
  if (l.ssl_cert_file.empty() == l.ssl_key_file.empty()) return;
  const char* given = l.ssl_cert_file.empty() ? "ssl_key_file" : "ssl_cert_file";
  const char* missing = l.ssl_cert_file.empty() ? "ssl_cert_file" : "ssl_key_file";
  ctx.error(map[given], join_key(prefix, missing), std::string("must be set together with ") + given);
}

// A port other than 0 may be bound once per host.
void check_unique(Context& ctx, const YAML::Node& at, const std::string& key, const std::vector<Listener>& before,
                  const Listener& l) {
  if (l.port == 0) return;
  for (size_t i = 0; i < before.size(); ++i) {
    if (before[i].host != l.host || before[i].port != l.port) continue;
    std::string other = i == 0 ? "the top-level host/port" : "listeners[" + std::to_string(i - 1) + "]";
    ctx.error(at, key, l.host + ":" + std::to_string(l.port) + " is already used by " + other);
    return;
  }
}

void read_extra(Context& ctx, const YAML::Node& entry, const std::string& key, Draft& draft) {
  Listener l;
  l.line = ctx.line(entry);
  if (!entry.IsMap()) {
    ctx.error(entry, key, "expected a map (host, port, ssl_cert_file, ssl_key_file), got " + describe(entry));
    return;
  }
  size_t errors = ctx.error_count();
  read_map(ctx, entry, key, listener_keys(), l);
  if (!entry["port"]) {
    ctx.error(entry, join_key(key, "port"), "missing (each listener needs a port)");
    return;
  }
  if (ctx.error_count() > errors) return;  // don't compare half-read listeners
  check_tls(ctx, entry, key, l);
  check_unique(ctx, entry, key, draft.config.listeners, l);
  draft.config.listeners.push_back(l);
}

}  // namespace

const std::vector<Key<Listener>>& listener_keys() {
  static const std::vector<L> keys = build_keys();
  return keys;
}

void read_listeners(Context& ctx, const YAML::Node& root, Draft& draft) {
  check_tls(ctx, root, "", draft.first);
  draft.config.listeners = {draft.first};
  const YAML::Node& list = draft.listeners;
  if (!list || list.IsNull()) return;
  if (!list.IsSequence()) {
    ctx.error(list, "listeners", "expected a list of listeners, got " + describe(list));
    return;
  }
  for (size_t i = 0; i < list.size(); ++i) read_extra(ctx, list[i], item_key("listeners", i), draft);
}

}  // namespace wsd::config
