// The `cluster:` section: where Redis is and who this node is.
#include <unistd.h>

#include <climits>
#include <cstdint>
#include <string>

#include "config/schema.h"
#include "config/values.h"

namespace wsd::config {

namespace {

using K = Key<Cluster>;

// "host:port", "[v6]:port", "host" (port 6379) or "unix:/path".
void read_redis(Context& ctx, const YAML::Node& v, const std::string& key, Cluster& c) {
  std::string text;
  if (!read_string(ctx, v, key, text)) return;
  if (text.rfind("unix:", 0) == 0) {
    c.redis_unix = text.substr(5);
    if (c.redis_unix.empty() || c.redis_unix[0] != '/') ctx.error(v, key, "expected unix:/absolute/path, got '" + text + "'");
    return;
  }
  std::string host = text;
  std::string port;
  if (!text.empty() && text[0] == '[') {
    size_t close = text.find(']');
    if (close == std::string::npos) return ctx.error(v, key, "unbalanced '[' in '" + text + "'");
    host = text.substr(1, close - 1);
    if (close + 1 < text.size()) {
      if (text[close + 1] != ':') return ctx.error(v, key, "expected [address]:port, got '" + text + "'");
      port = text.substr(close + 2);
    }
  } else if (size_t colon = text.rfind(':'); colon != std::string::npos && text.find(':') == colon) {
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
  }
  if (host.empty()) return ctx.error(v, key, "no host in '" + text + "' (host:port or unix:/path)");
  c.redis_host = host;
  if (port.empty()) return;
  char* end = nullptr;
  long n = std::strtol(port.c_str(), &end, 10);
  if (*end != '\0' || n < 1 || n > 65535) return ctx.error(v, key, "port '" + port + "' is not 1..65535");
  c.redis_port = static_cast<uint16_t>(n);
}

const std::vector<K>& cluster_keys() {
  static const std::vector<K> keys = {
      {"redis", read_redis},
      {"password", [](Context& ctx, const YAML::Node& v, const std::string& key, Cluster& c) {
         read_string(ctx, v, key, c.password);
       }},
      {"database", [](Context& ctx, const YAML::Node& v, const std::string& key, Cluster& c) {
         int64_t n = 0;
         if (read_int(ctx, v, key, 0, 65535, n)) c.database = static_cast<int>(n);
       }},
      {"channel_prefix", [](Context& ctx, const YAML::Node& v, const std::string& key, Cluster& c) {
         std::string p;
         if (!read_string(ctx, v, key, p)) return;
         if (p.empty() || p.find_first_of(" *?[]\r\n") != std::string::npos)
           return ctx.error(v, key, "expected a non-empty prefix without spaces or glob characters");
         c.channel_prefix = p;
       }},
      {"node_id", [](Context& ctx, const YAML::Node& v, const std::string& key, Cluster& c) {
         std::string id;
         if (!read_string(ctx, v, key, id)) return;
         if (id.empty() || id.size() > 64 || id.find_first_of(" :*?[]\r\n") != std::string::npos)
           return ctx.error(v, key, "expected 1..64 characters without spaces, ':' or glob characters");
         c.node_id = id;
       }},
      {"node_number", [](Context& ctx, const YAML::Node& v, const std::string& key, Cluster& c) {
         int64_t n = 0;
         if (read_int(ctx, v, key, 1, 4095, n)) c.node_number = static_cast<int>(n);
       }},
      {"heartbeat_interval", [](Context& ctx, const YAML::Node& v, const std::string& key, Cluster& c) {
         read_duration(ctx, v, key, 0, true, c.heartbeat_interval);
       }},
      {"heartbeat_ttl", [](Context& ctx, const YAML::Node& v, const std::string& key, Cluster& c) {
         read_duration(ctx, v, key, 0, true, c.heartbeat_ttl);
       }},
  };
  return keys;
}

// FNV-1a of the node id, folded into 1..4095.
int derive_node_number(const std::string& id) {
  uint32_t h = 2166136261u;
  for (unsigned char ch : id) h = (h ^ ch) * 16777619u;
  return static_cast<int>(h % 4095) + 1;
}

}  // namespace

void read_cluster(Context& ctx, Draft& draft) {
  if (!draft.cluster || draft.cluster.IsNull()) return;   // absent (or `cluster:` with nothing under it)
  Cluster& c = draft.config.cluster;
  read_map(ctx, draft.cluster, "cluster", cluster_keys(), c);
  c.enabled = true;
  if (c.heartbeat_ttl <= c.heartbeat_interval) {
    ctx.error(draft.cluster, "cluster.heartbeat_ttl", "must be longer than cluster.heartbeat_interval");
  }
  if (c.node_id.empty()) {
    char host[HOST_NAME_MAX + 1] = {};
    gethostname(host, sizeof host - 1);
    uint16_t port = draft.config.listeners.empty() ? 0 : draft.config.listeners.front().port;
    // Port 0 (ephemeral) says nothing: the pid keeps two such nodes apart.
    c.node_id = std::string(host[0] ? host : "wsd") + "-" + std::to_string(port ? port : getpid());
  }
  if (c.node_number == 0) c.node_number = derive_node_number(c.node_id);
}

}  // namespace wsd::config
