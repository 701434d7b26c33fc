// The wsd_api function table: what plugins call. Every function works from
// any callback or timer of the worker; failures return a wsd_result.
#include <arpa/inet.h>
#include <spdlog/spdlog.h>
#include <strings.h>

#include <algorithm>
#include <cstdarg>
#include <cstddef>
#include <cstring>

#include "core/close_code.h"
#include "core/frame.h"
#include "core/http_request.h"
#include "core/utf8.h"
#include "daemon/worker.h"

namespace wsd::daemon {

// core/ keeps its own copy of the protocol constants (it does not depend on
// the plugin ABI); they must agree with what plugins see.
static_assert(static_cast<int>(core::Opcode::Text) == WSD_OPCODE_TEXT);
static_assert(static_cast<int>(core::Opcode::Binary) == WSD_OPCODE_BINARY);
static_assert(static_cast<int>(core::Opcode::Close) == WSD_OPCODE_CLOSE);
static_assert(static_cast<int>(core::Opcode::Ping) == WSD_OPCODE_PING);
static_assert(static_cast<int>(core::Opcode::Pong) == WSD_OPCODE_PONG);
static_assert(static_cast<int>(core::kFlagFin) == WSD_FLAG_FIN && static_cast<int>(core::kFlagCompress) == WSD_FLAG_COMPRESS);
static_assert(static_cast<int>(core::ConnectionStatus::Active) == WSD_STATUS_ACTIVE);
static_assert(static_cast<int>(core::close_code::kMessageTooBig) == WSD_CLOSE_MESSAGE_TOO_BIG);

namespace {

bool valid_push_opcode(int op) {
  return op == WSD_OPCODE_TEXT || op == WSD_OPCODE_BINARY || op == WSD_OPCODE_CONTINUATION ||
         op == WSD_OPCODE_CLOSE || op == WSD_OPCODE_PING || op == WSD_OPCODE_PONG;
}

// Checks a push against the session table: no round trip to the master.
int check_target(Worker& w, wsd_conn_t conn, size_t len) {
  if (len > w.settings().package_max_length) return WSD_ERR_TOO_BIG;
  uint8_t status = w.websocket_status(conn);
  if (status == 0xFF || status == WSD_STATUS_CLOSING) return WSD_ERR_NO_CONNECTION;
  if (status != WSD_STATUS_ACTIVE) return WSD_ERR_NOT_WEBSOCKET;
  if (w.sessions().output(conn) + len > w.settings().buffer_output_size) return WSD_ERR_BUFFER_FULL;
  return WSD_OK;
}

int api_push_impl(wsd_ctx* ctx, wsd_conn_t conn, const void* data, size_t len, int opcode, int flags) {
  if (!valid_push_opcode(opcode)) return WSD_ERR_INVALID;
  if (opcode >= WSD_OPCODE_CLOSE && len > 125) return WSD_ERR_INVALID;
  Worker& w = *ctx->worker;
  if (w.remote(conn)) {
    // Another node's connection: its own checks run over there.
    if (len > w.settings().package_max_length) return WSD_ERR_TOO_BIG;
    return w.cluster_send(cluster::WireType::Push, conn, static_cast<uint16_t>(opcode | ((flags & 0xFF) << 8)),
                          std::string_view(static_cast<const char*>(data), data ? len : 0));
  }
  int rc = check_target(w, conn, len);
  if (rc == WSD_ERR_BUFFER_FULL && w.settings().buffer_output_close) {
    // The configured policy for a client that does not read: close it (1008).
    static constexpr std::string_view kReason = "output buffer full";
    w.send_to_reactor(conn, ipc::MessageType::CloseConnection, WSD_CLOSE_POLICY_ERROR, kReason);
  }
  if (rc != WSD_OK) return rc;
  auto aux = static_cast<uint16_t>(opcode | ((flags & 0xFF) << 8));
  return w.send_to_reactor(conn, ipc::MessageType::Push, aux,
                           std::string_view(static_cast<const char*>(data), data ? len : 0));
}

int api_disconnect_impl(wsd_ctx* ctx, wsd_conn_t conn, int code, const char* reason, size_t reason_len) {
  if (!core::is_valid_application_close_code(static_cast<uint16_t>(code)) || code > 4999) return WSD_ERR_INVALID;
  if (reason_len > 125 || (reason_len && !core::is_valid_utf8(reinterpret_cast<const uint8_t*>(reason), reason_len)))
    return WSD_ERR_INVALID;
  Worker& w = *ctx->worker;
  if (w.remote(conn))
    return w.cluster_send(cluster::WireType::Close, conn, static_cast<uint16_t>(code),
                          std::string_view(reason ? reason : "", reason_len));
  uint8_t status = w.websocket_status(conn);
  if (status == 0xFF || status == WSD_STATUS_CLOSING) return WSD_ERR_NO_CONNECTION;
  if (status != WSD_STATUS_ACTIVE) return WSD_ERR_NOT_WEBSOCKET;
  return w.send_to_reactor(conn, ipc::MessageType::CloseConnection, static_cast<uint16_t>(code),
                           std::string_view(reason ? reason : "", reason_len));
}

int api_push_frame_impl(wsd_ctx* ctx, wsd_conn_t conn, const wsd_frame* f) {
  if (!f) return WSD_ERR_INVALID;
  if (f->opcode == WSD_OPCODE_CLOSE) {
    // The CloseFrame variant: code and reason, like disconnect but any valid wire code.
    uint16_t code = f->code ? f->code : static_cast<uint16_t>(WSD_CLOSE_NORMAL);
    if (!core::is_valid_wire_close_code(code) || f->reason.len > 123) return WSD_ERR_INVALID;
    std::string payload = core::close_payload(code, std::string_view(f->reason.data, f->reason.len));
    return api_push_impl(ctx, conn, payload.data(), payload.size(), WSD_OPCODE_CLOSE, WSD_FLAG_FIN);
  }
  return api_push_impl(ctx, conn, f->data, f->len, f->opcode, f->flags ? static_cast<int>(f->flags) : static_cast<int>(WSD_FLAG_FIN));
}

int api_close_impl(wsd_ctx* ctx, wsd_conn_t conn) {
  Worker& w = *ctx->worker;
  if (w.remote(conn)) return w.cluster_send(cluster::WireType::Close, conn, 0, {});
  if (!w.sessions().exists(conn)) return WSD_ERR_NO_CONNECTION;
  return w.send_to_reactor(conn, ipc::MessageType::CloseConnection, 0, {});
}

// The table's entries: each result is counted (failures are not logged).
int api_push(wsd_ctx* ctx, wsd_conn_t conn, const void* data, size_t len, int opcode, int flags) {
  int rc = ctx->worker->counters().count(api_push_impl(ctx, conn, data, len, opcode, flags));
  if (rc == WSD_OK) ctx->worker->counters().push();
  return rc;
}
int api_push_frame(wsd_ctx* ctx, wsd_conn_t conn, const wsd_frame* f) {
  int rc = ctx->worker->counters().count(api_push_frame_impl(ctx, conn, f));
  if (rc == WSD_OK) ctx->worker->counters().push();
  return rc;
}
int api_disconnect(wsd_ctx* ctx, wsd_conn_t conn, int code, const char* reason, size_t reason_len) {
  return ctx->worker->counters().count(api_disconnect_impl(ctx, conn, code, reason, reason_len));
}
int api_close(wsd_ctx* ctx, wsd_conn_t conn) { return ctx->worker->counters().count(api_close_impl(ctx, conn)); }

int api_exist(wsd_ctx* ctx, wsd_conn_t conn) {
  if (ctx->worker->remote(conn)) return ctx->worker->cluster_query(conn, cluster::QueryKind::Exist);
  return ctx->worker->sessions().exists(conn) ? 1 : 0;
}

int api_is_established(wsd_ctx* ctx, wsd_conn_t conn) {
  if (ctx->worker->remote(conn)) return ctx->worker->cluster_query(conn, cluster::QueryKind::Established);
  return ctx->worker->websocket_status(conn) == WSD_STATUS_ACTIVE ? 1 : 0;
}

int api_get_client_info(wsd_ctx* ctx, wsd_conn_t conn, wsd_client_info* out) {
  if (!out) return WSD_ERR_INVALID;
  SessionInfo info;
  if (!ctx->worker->sessions().read(conn, info)) return WSD_ERR_NO_CONNECTION;
  uint32_t size = out->struct_size ? out->struct_size : sizeof(wsd_client_info);
  wsd_client_info ci{};
  ci.struct_size = size;
  inet_ntop(info.family == AF_INET ? AF_INET : AF_INET6, info.addr, ci.remote_ip, sizeof ci.remote_ip);
  ci.remote_port = info.remote_port;
  ci.server_port = info.server_port;
  ci.connect_time = info.connect_time;
  ci.last_time = info.last_time;
  ci.websocket_status = info.status;
  ci.reactor_id = info.reactor;
  ci.worker_id = info.worker;
  ci.tls = info.tls;
  inet_ntop(info.peer_family == AF_INET ? AF_INET : AF_INET6, info.peer_addr, ci.peer_ip, sizeof ci.peer_ip);
  ci.peer_port = info.peer_port;
  std::memcpy(out, &ci, std::min<size_t>(size, sizeof ci));
  return WSD_OK;
}

size_t api_connections(wsd_ctx* ctx, uint64_t* cursor, wsd_conn_t* out, size_t max, int websocket_only) {
  if (!cursor || !out) return 0;
  return ctx->worker->sessions().list(*cursor, out, max, websocket_only != 0);
}

size_t api_pack(const void* data, size_t len, int opcode, int flags, void* out, size_t cap) {
  std::string frame = core::pack(std::string_view(static_cast<const char*>(data), data ? len : 0),
                                 static_cast<uint8_t>(opcode), static_cast<uint8_t>(flags & WSD_FLAG_FIN));
  if (frame.size() <= cap && out) std::memcpy(out, frame.data(), frame.size());
  return frame.size();
}

size_t api_unpack(const void* data, size_t len, wsd_frame* frame, void* payload_out, size_t cap) {
  if (!data || !frame) return 0;
  auto f = core::unpack(std::string_view(static_cast<const char*>(data), len));
  if (!f || f->data.size() > cap) return 0;
  if (!f->data.empty()) std::memcpy(payload_out, f->data.data(), f->data.size());
  *frame = wsd_frame{};
  frame->data = static_cast<const char*>(payload_out);
  frame->len = f->data.size();
  frame->opcode = f->opcode;
  frame->flags = f->flags;
  frame->finish = (f->flags & WSD_FLAG_FIN) ? 1 : 0;
  frame->code = f->code;
  if (f->opcode == WSD_OPCODE_CLOSE && f->data.size() > 2) {
    frame->reason = wsd_str{static_cast<const char*>(payload_out) + 2, f->data.size() - 2};
  }
  return f->frame_size;
}

int api_defer(wsd_ctx* ctx, wsd_defer_fn fn, void* arg) { return ctx->worker->defer(ctx, fn, arg); }
uint64_t api_after(wsd_ctx* ctx, uint64_t ms, wsd_timer_fn fn, void* arg) {
  return ctx->worker->add_timer(ctx, ms, false, fn, arg);
}
uint64_t api_tick(wsd_ctx* ctx, uint64_t ms, wsd_timer_fn fn, void* arg) {
  return ctx->worker->add_timer(ctx, ms ? ms : 1, true, fn, arg);
}
int api_clear_timer(wsd_ctx* ctx, uint64_t id) { return ctx->worker->clear_timer(id) ? WSD_OK : WSD_ERR_INVALID; }

void api_log(wsd_ctx* ctx, int level, const char* fmt, ...) {
  auto lvl = static_cast<spdlog::level::level_enum>(std::clamp(level, 0, 5));
  if (!spdlog::should_log(lvl)) return;   // no formatting for a line nobody keeps
  char buf[2048];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  // The logger's pattern already names the worker.
  spdlog::log(lvl, "[{}] {}", ctx->config->name, buf);
}

int api_worker_id(wsd_ctx* ctx) { return ctx->worker->id(); }
int api_worker_num(wsd_ctx* ctx) { return ctx->worker->worker_num(); }

wsd_str api_config_yaml(wsd_ctx* ctx) { return wsd_str{ctx->config->config_yaml.data(), ctx->config->config_yaml.size()}; }

// Plugins may call this on every message (the echo example does): the YAML
// walk happens once per key.
std::unique_ptr<std::string> lookup_config(const YAML::Node& tree, std::string_view rest) {
  YAML::Node node = YAML::Clone(tree);
  while (!rest.empty()) {
    size_t dot = rest.find('.');
    std::string key(rest.substr(0, dot));
    if (!node.IsMap()) return nullptr;
    node = node[key];
    if (!node) return nullptr;
    rest = dot == std::string_view::npos ? std::string_view() : rest.substr(dot + 1);
  }
  if (!node.IsScalar()) return nullptr;
  return std::make_unique<std::string>(node.Scalar());
}

wsd_str api_config_get(wsd_ctx* ctx, const char* dotted) {
  if (!dotted) return {};
  auto it = ctx->config_values.find(std::string_view(dotted));
  if (it == ctx->config_values.end())
    it = ctx->config_values.emplace(dotted, lookup_config(ctx->config_tree, dotted)).first;
  if (!it->second) return {};
  return wsd_str{it->second->data(), it->second->size()};
}

void api_set_user(wsd_ctx* ctx, void* user) { ctx->user = user; }
void* api_user(wsd_ctx* ctx) { return ctx->user; }

wsd_str api_request_header(const wsd_request* req, const char* name) {
  if (!req || !name) return {};
  size_t n = std::strlen(name);
  for (size_t i = 0; i < req->header_count; ++i) {
    const wsd_header& h = req->headers[i];
    if (h.name.len == n && strncasecmp(h.name.data, name, n) == 0) return h.value;
  }
  return {};
}

wsd_str api_request_cookie(const wsd_request* req, const char* name) {
  if (!req || !name) return {};
  std::string_view key(name);
  for (size_t i = 0; i < req->header_count; ++i) {
    const wsd_header& h = req->headers[i];
    if (h.name.len != 6 || strncasecmp(h.name.data, "cookie", 6) != 0) continue;
    std::string_view rest(h.value.data, h.value.len);
    while (!rest.empty()) {
      size_t semi = rest.find(';');
      std::string_view pair = rest.substr(0, semi);
      rest = semi == std::string_view::npos ? std::string_view() : rest.substr(semi + 1);
      while (!pair.empty() && pair.front() == ' ') pair.remove_prefix(1);
      size_t eq = pair.find('=');
      if (eq != std::string_view::npos && pair.substr(0, eq) == key) {
        std::string_view v = pair.substr(eq + 1);
        return wsd_str{v.data(), v.size()};
      }
    }
  }
  return {};
}

long api_request_query(const wsd_request* req, const char* key, char* out, size_t cap) {
  if (!req || !key) return -1;
  std::string_view query(req->query.data, req->query.len);
  // query_param cannot tell "absent" from "empty": look for the key first.
  std::string k(key);
  bool present = false;
  for (size_t pos = 0; pos <= query.size();) {
    size_t amp = query.find('&', pos);
    std::string_view pair = query.substr(pos, amp == std::string_view::npos ? std::string_view::npos : amp - pos);
    std::string_view name = pair.substr(0, pair.find('='));
    if (core::url_decode(name) == k) present = true;
    if (amp == std::string_view::npos) break;
    pos = amp + 1;
  }
  if (!present) return -1;
  std::string v = core::query_param(query, k);
  if (out && v.size() < cap) {
    std::memcpy(out, v.data(), v.size());
    out[v.size()] = '\0';
  }
  return static_cast<long>(v.size());
}

void api_response_status(wsd_response* r, int status) {
  if (r) r->answer.status = status;
}
void api_response_header(wsd_response* r, const char* name, const char* value) {
  if (r && name && value) r->answer.headers.push_back({name, value});
}
void api_response_write(wsd_response* r, const void* data, size_t len) {
  if (r && data) r->answer.body.append(static_cast<const char*>(data), len);
}
void api_response_end(wsd_response* r) {
  if (r) r->answer.ended = true;
}

// Statistics: read from the shared stats block. A caller built against an
// older, smaller struct gets the fields it knows (struct_size).
int api_stats(wsd_ctx* ctx, wsd_stats* out) {
  if (!ctx || !out || out->struct_size < offsetof(wsd_stats, worker_num) + sizeof(uint32_t)) return WSD_ERR_INVALID;
  const SharedStats& st = ctx->worker->stats();
  if (!st.valid()) return WSD_ERR_NOT_SUPPORTED;
  wsd_stats s{};
  s.worker_num = st.block().worker_num;
  s.start_time = st.block().start_time;
  s.connection_num = ctx->worker->sessions().live();
  s.accept_count = st.sum(&ReactorStats::accepted);
  s.close_count = st.sum(&ReactorStats::closed);
  s.refused_count = st.sum(&ReactorStats::refused);
  for (int f = 0; f < static_cast<int>(HandshakeFailure::kCount); ++f)
    s.handshake_failures += st.sum_failures(static_cast<HandshakeFailure>(f));
  s.messages_in = st.sum(&ReactorStats::messages_in);
  s.messages_out = st.sum(&ReactorStats::messages_out);
  s.bytes_in = st.sum(&ReactorStats::bytes_in);
  s.bytes_out = st.sum(&ReactorStats::bytes_out);
  s.pushes_refused = st.sum(&ReactorStats::deliveries_refused);
  s.lost_events = st.sum(&ReactorStats::lost_events);
  s.topic_count = st.sum(&ReactorStats::topics);
  const ClusterStats& cs = st.block().cluster;
  s.cluster_nodes = cs.node_number.get() ? cs.nodes.get() : 1;
  s.cluster_connection_num = cs.node_number.get() ? cs.connections.get() : s.connection_num;
  for (uint32_t w = 0; w < s.worker_num; ++w) {
    const WorkerStats& ws = st.worker(static_cast<int>(w));
    s.request_count += ws.events.get();
    s.pushes_refused += ws.failed_calls.get();
    s.worker_restarts += ws.restarts.get();
  }
  uint32_t size = std::min<uint32_t>(out->struct_size, sizeof s);
  s.struct_size = size;
  std::memcpy(out, &s, size);
  return WSD_OK;
}

int api_worker_stats(wsd_ctx* ctx, int worker, wsd_worker_stats* out) {
  if (!ctx || !out || out->struct_size < sizeof(uint32_t)) return WSD_ERR_INVALID;
  const SharedStats& st = ctx->worker->stats();
  if (!st.valid()) return WSD_ERR_NOT_SUPPORTED;
  if (worker < 0 || static_cast<uint32_t>(worker) >= st.block().worker_num) return WSD_ERR_INVALID;
  const WorkerStats& ws = st.worker(worker);
  wsd_worker_stats s{};
  s.pid = ws.pid.load(std::memory_order_relaxed);
  s.total_request_count = ws.events.get();
  s.request_count = s.total_request_count - ws.events_at_start.get();
  s.messages = ws.messages.get();
  s.pushes = ws.pushes.get();
  s.pushes_refused = ws.failed_calls.get();
  s.restarts = ws.restarts.get();
  s.queue_bytes = ws.queue_bytes.get();
  uint32_t size = std::min<uint32_t>(out->struct_size, sizeof s);
  s.struct_size = size;
  std::memcpy(out, &s, size);
  return WSD_OK;
}

// Topics: membership lives in the reactor that owns the connection
// (subscribe is routed there like push); publish and broadcast send one
// message per reactor, which fans the frame out (daemon/topic_phase.cc).
bool valid_topic(const char* topic, size_t len) { return topic && len >= 1 && len <= 255; }

// Publish and broadcast frames are whole messages: data, ping or pong.
int check_fan_out(Worker& w, const void* data, size_t len, int opcode) {
  if (opcode != WSD_OPCODE_TEXT && opcode != WSD_OPCODE_BINARY && opcode != WSD_OPCODE_PING &&
      opcode != WSD_OPCODE_PONG)
    return WSD_ERR_INVALID;
  if (!data && len > 0) return WSD_ERR_INVALID;
  if (opcode >= WSD_OPCODE_CLOSE && len > 125) return WSD_ERR_INVALID;
  if (len > w.settings().package_max_length) return WSD_ERR_TOO_BIG;
  return WSD_OK;
}

int membership_impl(wsd_ctx* ctx, wsd_conn_t conn, const char* topic, size_t topic_len, ipc::MessageType type) {
  if (!valid_topic(topic, topic_len)) return WSD_ERR_INVALID;
  Worker& w = *ctx->worker;
  uint8_t status = w.websocket_status(conn);
  if (status == 0xFF || status == WSD_STATUS_CLOSING) return WSD_ERR_NO_CONNECTION;
  if (status != WSD_STATUS_ACTIVE) return WSD_ERR_NOT_WEBSOCKET;
  return w.send_to_reactor(conn, type, 0, std::string_view(topic, topic_len));
}

int api_subscribe(wsd_ctx* ctx, wsd_conn_t conn, const char* topic, size_t topic_len) {
  return ctx->worker->counters().count(membership_impl(ctx, conn, topic, topic_len, ipc::MessageType::Subscribe));
}

int api_unsubscribe(wsd_ctx* ctx, wsd_conn_t conn, const char* topic, size_t topic_len) {
  return ctx->worker->counters().count(membership_impl(ctx, conn, topic, topic_len, ipc::MessageType::Unsubscribe));
}

uint16_t fan_out_aux(int opcode, int flags) {
  return static_cast<uint16_t>(opcode | ((WSD_FLAG_FIN | (flags & WSD_FLAG_COMPRESS)) << 8));
}

int api_publish(wsd_ctx* ctx, const char* topic, size_t topic_len, const void* data, size_t len, int opcode,
                int flags) {
  Worker& w = *ctx->worker;
  int rc = valid_topic(topic, topic_len) ? check_fan_out(w, data, len, opcode) : WSD_ERR_INVALID;
  if (rc == WSD_OK) {
    rc = w.fan_out(std::string_view(topic, topic_len), fan_out_aux(opcode, flags),
                   std::string_view(static_cast<const char*>(data), data ? len : 0));
  }
  return w.counters().count(rc);
}

int api_broadcast(wsd_ctx* ctx, const void* data, size_t len, int opcode, int flags) {
  Worker& w = *ctx->worker;
  int rc = check_fan_out(w, data, len, opcode);
  if (rc == WSD_OK) {
    rc = w.fan_out({}, fan_out_aux(opcode, flags), std::string_view(static_cast<const char*>(data), data ? len : 0));
  }
  return w.counters().count(rc);
}

// The live nodes (this one included), from the bitmap the master's bridge
// keeps in the shared stats. Without a cluster: none (0).
size_t api_cluster_nodes(wsd_ctx* ctx, uint16_t* out, size_t max) {
  const SharedStats& st = ctx->worker->stats();
  if (!st.valid() || st.block().cluster.node_number.get() == 0) return 0;
  const ClusterStats& cs = st.block().cluster;
  size_t n = 0;
  for (uint32_t node = 1; node < static_cast<uint32_t>(kMaxClusterNodes); ++node) {
    if (!cs.is_live(node)) continue;
    if (out && n < max) out[n] = static_cast<uint16_t>(node);
    ++n;
  }
  return n;
}

int api_node_number(wsd_ctx* ctx) { return ctx->worker->node(); }

const wsd_api kApi = {
    WSD_PLUGIN_ABI_VERSION, sizeof(wsd_api),
    api_push, api_push_frame, api_disconnect, api_close,
    api_exist, api_is_established, api_get_client_info, api_connections,
    api_pack, api_unpack,
    api_defer, api_after, api_tick, api_clear_timer,
    api_log, api_worker_id, api_worker_num,
    api_config_yaml, api_config_get,
    api_set_user, api_user,
    api_request_header, api_request_cookie, api_request_query,
    api_response_status, api_response_header, api_response_write, api_response_end,
    api_stats, api_worker_stats,
    api_subscribe, api_unsubscribe, api_publish, api_broadcast,
    api_cluster_nodes, api_node_number,
};

}  // namespace

const wsd_api* plugin_api() { return &kApi; }

}  // namespace wsd::daemon
