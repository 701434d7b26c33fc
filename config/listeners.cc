// Listeners: the top-level host/port (and the other listener keys) is the
// first; each `listeners:` entry adds one.
#include <openssl/err.h>
#include <openssl/ssl.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <filesystem>
#include <string_view>

#include "config/schema.h"
#include "config/values.h"
#include "core/forwarded.h"

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

L flag(const char* name, bool Listener::*field) {
  return {name, [=](Context& ctx, const YAML::Node& v, const std::string& key, Listener& l) {
            if (!read_bool(ctx, v, key, l.*field)) return;
            note_line(ctx, v, l);
          }};
}

constexpr std::array<std::string_view, 2> kProtocols = {"TLSv1.2", "TLSv1.3"};

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i]))) return false;
  }
  return true;
}

// TLSv1.2 and/or TLSv1.3 (any case; stored in these spellings, repeats dropped).
void read_protocols(Context& ctx, const YAML::Node& v, const std::string& key, Listener& l) {
  std::vector<std::string> given;
  if (!read_strings(ctx, v, key, given)) return;
  note_line(ctx, v, l);
  std::vector<std::string> out;
  bool ok = true;
  for (size_t i = 0; i < given.size(); ++i) {
    const std::string_view* found = nullptr;
    for (const std::string_view& p : kProtocols) {
      if (iequals(given[i], p)) found = &p;
    }
    if (found) {
      if (std::find(out.begin(), out.end(), *found) == out.end()) out.emplace_back(*found);
      continue;
    }
    bool several = given[i].find_first_of(" ,:") != std::string::npos;
    ctx.error(v.IsSequence() ? v[i] : v, v.IsSequence() ? item_key(key, i) : key,
              "'" + given[i] + "' is not allowed (allowed: TLSv1.2, TLSv1.3" +
                  (several ? "; several are written as a list: [TLSv1.2, TLSv1.3])" : ")"));
    ok = false;
  }
  if (!ok) return;
  if (out.empty()) {
    ctx.error(v, key, "must name at least one of TLSv1.2, TLSv1.3");
    return;
  }
  l.ssl_protocols = std::move(out);
}

// True if OpenSSL selects at least one cipher from `list` (what
// SSL_CTX_set_cipher_list accepts).
bool cipher_list_usable(const std::string& list) {
  SSL_CTX* c = SSL_CTX_new(TLS_server_method());
  if (c == nullptr) {
    ERR_clear_error();
    return true;  // cannot tell here; the daemon will
  }
  bool ok = SSL_CTX_set_cipher_list(c, list.c_str()) == 1;
  SSL_CTX_free(c);
  ERR_clear_error();
  return ok;
}

void read_ciphers(Context& ctx, const YAML::Node& v, const std::string& key, Listener& l) {
  std::string list;
  if (!read_string(ctx, v, key, list)) return;
  note_line(ctx, v, l);
  if (!list.empty() && !cipher_list_usable(list)) {
    ctx.error(v, key, "OpenSSL selects no cipher from '" + list + "' (try: openssl ciphers -v '" + list + "')");
    return;
  }
  l.ssl_ciphers = list;
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
      {"ssl_protocols", read_protocols},
      {"ssl_ciphers", read_ciphers},
      flag("ssl_verify_peer", &Listener::ssl_verify_peer),
      tls_file("ssl_client_cert_file", &Listener::ssl_client_cert_file),
      flag("proxy_protocol", &Listener::proxy_protocol),
      {"trusted_proxies",
       [](Context& ctx, const YAML::Node& v, const std::string& key, Listener& l) {
         if (read_trusted_proxies(ctx, v, key, l.trusted_proxies)) note_line(ctx, v, l);
       }},
  };
}

// `name` is written in `map` with a value (not nothing, not ""). Checks
// between keys look at what was written rather than at the fields, so that
// a file refused for not existing is not also reported as missing.
bool given(const YAML::Node& map, const char* name) {
  const YAML::Node n = map[name];
  return n && !n.IsNull() && !(n.IsScalar() && n.Scalar().empty());
}

// The checks between one listener's keys, looked up in `map` (the
// listener's map, or the top level for the first listener). `proxies_known`:
// its trusted_proxies were read without error.
void check_listener(Context& ctx, const YAML::Node& map, std::string_view prefix, const Listener& l,
                    bool proxies_known) {
  // Both TLS files or neither.
  bool cert = given(map, "ssl_cert_file");
  bool key = given(map, "ssl_key_file");
  if (cert != key) {
    const char* set = cert ? "ssl_cert_file" : "ssl_key_file";
    const char* missing = cert ? "ssl_key_file" : "ssl_cert_file";
    ctx.error(map[set], join_key(prefix, missing), std::string("must be set together with ") + set);
  }
  if (l.ssl_verify_peer) {
    if (!cert && !key) {
      ctx.error(map["ssl_verify_peer"], join_key(prefix, "ssl_verify_peer"),
                "needs TLS on this listener (ssl_cert_file and ssl_key_file)");
    } else if (!given(map, "ssl_client_cert_file")) {
      ctx.error(map["ssl_verify_peer"], join_key(prefix, "ssl_client_cert_file"),
                "required when ssl_verify_peer is true (the CA certificates client certificates must be signed by)");
    }
  }
  if (l.proxy_protocol && l.trusted_proxies.empty() && proxies_known) {
    ctx.error(map["proxy_protocol"], join_key(prefix, "proxy_protocol"),
              "needs a non-empty trusted_proxies: a PROXY header is only accepted from them");
  }
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
    ctx.error(entry, key, "expected a map (host, port and the other listener options), got " + describe(entry));
    return;
  }
  size_t errors = ctx.error_count();
  read_map(ctx, entry, key, listener_keys(), l);
  if (!entry["port"]) {
    ctx.error(entry, join_key(key, "port"), "missing (each listener needs a port)");
    return;
  }
  if (ctx.error_count() > errors) return;  // don't compare half-read listeners
  bool own_proxies = static_cast<bool>(entry["trusted_proxies"]);
  if (!own_proxies) l.trusted_proxies = draft.config.trusted_proxies;
  check_listener(ctx, entry, key, l, own_proxies || !draft.trusted_proxies_invalid);
  check_unique(ctx, entry, key, draft.config.listeners, l);
  draft.config.listeners.push_back(l);
}

}  // namespace

const std::vector<Key<Listener>>& listener_keys() {
  static const std::vector<L> keys = build_keys();
  return keys;
}

bool read_trusted_proxies(Context& ctx, const YAML::Node& v, const std::string& key, std::vector<std::string>& out) {
  std::vector<std::string> list;
  if (!read_strings(ctx, v, key, list)) return false;
  core::TrustedProxies check;
  bool ok = true;
  for (size_t i = 0; i < list.size(); ++i) {
    std::string error;
    if (check.add(list[i], error)) continue;
    // "trusted proxy \"x\": why" -> "why (got 'x')": the key names the entry.
    std::string prefix = "trusted proxy \"" + list[i] + "\": ";
    if (error.starts_with(prefix)) error = error.substr(prefix.size()) + " (got '" + list[i] + "')";
    ctx.error(v.IsSequence() ? v[i] : v, v.IsSequence() ? item_key(key, i) : key, error);
    ok = false;
  }
  if (ok) out = std::move(list);
  return ok;
}

void read_listeners(Context& ctx, const YAML::Node& root, Draft& draft) {
  draft.first.trusted_proxies = draft.config.trusted_proxies;
  check_listener(ctx, root, "", draft.first, !draft.trusted_proxies_invalid);
  draft.config.listeners = {draft.first};
  const YAML::Node& list = draft.listeners;
  if (list && !list.IsNull() && !list.IsSequence()) {
    ctx.error(list, "listeners", "expected a list of listeners, got " + describe(list));
  } else if (list && list.IsSequence()) {
    for (size_t i = 0; i < list.size(); ++i) read_extra(ctx, list[i], item_key("listeners", i), draft);
  }
  // The admin listener's port, like a listener's, once per host.
  const Config& c = draft.config;
  if (c.admin_port > 0) {
    Listener admin;
    admin.host = c.admin_host;
    admin.port = static_cast<uint16_t>(c.admin_port);
    check_unique(ctx, root["admin_port"], "admin_port", c.listeners, admin);
  }
}

}  // namespace wsd::config
