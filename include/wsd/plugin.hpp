// Header-only C++ layer over the C ABI of wsd/plugin.h.
//
//   struct Echo {
//     void on_message(wsd::Server& s, const wsd::Frame& f) { s.push(f.conn, f.data, f.opcode); }
//   };
//   WSD_PLUGIN(Echo, "echo")
//
// The class needs no base: it declares the events it handles, with these
// signatures, and only those are registered with the server (so declaring
// on_handshake is what turns the custom handshake on, as in the manual):
//   void on_worker_start(Server&);            void on_worker_stop(Server&);
//   void on_handshake(Server&, const Request&, Response&);
//   void on_before_handshake_response(Server&, const Request&, Response&);
//   void on_open(Server&, const Request&);    void on_message(Server&, const Frame&);
//   void on_request(Server&, const Request&, Response&);
//   void on_close(Server&, const CloseInfo&); void on_disconnect(Server&, wsd_conn_t);
// One instance is made per worker (default-constructed before on_worker_start).
// Exceptions must not leave an event: catch them in the handler.
#pragma once

#include <algorithm>
#include <cstdarg>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "wsd/plugin.h"

namespace wsd {

namespace detail {
// The server's function table, set when the plugin is loaded (one per .so).
inline const wsd_api* api = nullptr;
inline std::string_view view(wsd_str s) { return s.data ? std::string_view(s.data, s.len) : std::string_view(); }
}  // namespace detail

enum Opcode : int {
  kText = WSD_OPCODE_TEXT,
  kBinary = WSD_OPCODE_BINARY,
  kClose = WSD_OPCODE_CLOSE,
  kPing = WSD_OPCODE_PING,
  kPong = WSD_OPCODE_PONG,
};

struct Frame {
  wsd_conn_t conn;
  std::string_view data;
  int opcode;
  int flags;
  bool finish;
  uint16_t code;            // close frames
  std::string_view reason;  // close frames
};

struct CloseInfo {
  wsd_conn_t conn;
  uint16_t code;
  std::string_view reason;
  bool by_server;
};

class Request {
 public:
  explicit Request(const wsd_request* r) : r_(r) {}
  wsd_conn_t conn() const { return r_->conn; }
  std::string_view method() const { return detail::view(r_->method); }
  std::string_view target() const { return detail::view(r_->target); }
  std::string_view path() const { return detail::view(r_->path); }
  std::string_view query_string() const { return detail::view(r_->query); }
  std::string_view body() const { return detail::view(r_->body); }
  std::string_view remote_addr() const { return detail::view(r_->remote_addr); }
  uint16_t remote_port() const { return r_->remote_port; }
  uint16_t server_port() const { return r_->server_port; }
  // First value of a header (case-insensitive); empty when absent.
  std::string_view header(const char* name) const { return detail::view(detail::api->request_header(r_, name)); }
  bool has_header(const char* name) const { return detail::api->request_header(r_, name).data != nullptr; }
  std::string_view cookie(const char* name) const { return detail::view(detail::api->request_cookie(r_, name)); }
  // A query parameter, percent-decoded; nullopt when absent.
  std::optional<std::string> query(const char* key) const {
    long n = detail::api->request_query(r_, key, nullptr, 0);
    if (n < 0) return std::nullopt;
    std::string out(static_cast<size_t>(n) + 1, '\0');
    detail::api->request_query(r_, key, out.data(), out.size());
    out.resize(static_cast<size_t>(n));
    return out;
  }
  std::vector<std::pair<std::string_view, std::string_view>> headers() const {
    std::vector<std::pair<std::string_view, std::string_view>> out;
    for (size_t i = 0; i < r_->header_count; ++i)
      out.emplace_back(detail::view(r_->headers[i].name), detail::view(r_->headers[i].value));
    return out;
  }
  const wsd_request* raw() const { return r_; }

 private:
  const wsd_request* r_;
};

class Response {
 public:
  explicit Response(wsd_response* r) : r_(r) {}
  Response& status(int code) { detail::api->response_status(r_, code); return *this; }
  Response& header(const std::string& name, const std::string& value) {
    detail::api->response_header(r_, name.c_str(), value.c_str());
    return *this;
  }
  Response& write(std::string_view body) { detail::api->response_write(r_, body.data(), body.size()); return *this; }
  void end(std::string_view body = {}) {
    if (!body.empty()) write(body);
    detail::api->response_end(r_);
  }

 private:
  wsd_response* r_;
};

class Server {
 public:
  explicit Server(wsd_ctx* ctx) : ctx_(ctx) {}

  int push(wsd_conn_t conn, std::string_view data, int opcode = WSD_OPCODE_TEXT, int flags = WSD_FLAG_FIN) {
    return detail::api->push(ctx_, conn, data.data(), data.size(), opcode, flags);
  }
  int push_close(wsd_conn_t conn, uint16_t code, std::string_view reason = {}) {
    wsd_frame f{};
    f.opcode = WSD_OPCODE_CLOSE;
    f.code = code;
    f.reason = wsd_str{reason.data(), reason.size()};
    return detail::api->push_frame(ctx_, conn, &f);
  }
  int disconnect(wsd_conn_t conn, int code = WSD_CLOSE_NORMAL, std::string_view reason = {}) {
    return detail::api->disconnect(ctx_, conn, code, reason.data(), reason.size());
  }
  int close(wsd_conn_t conn) { return detail::api->close(ctx_, conn); }
  bool exist(wsd_conn_t conn) { return detail::api->exist(ctx_, conn) != 0; }
  bool is_established(wsd_conn_t conn) { return detail::api->is_established(ctx_, conn) != 0; }
  std::optional<wsd_client_info> get_client_info(wsd_conn_t conn) {
    wsd_client_info info{};
    info.struct_size = sizeof info;
    if (detail::api->get_client_info(ctx_, conn, &info) != WSD_OK) return std::nullopt;
    return info;
  }
  // Every connection (or every established WebSocket), across all workers.
  std::vector<wsd_conn_t> connections(bool websocket_only = true) {
    std::vector<wsd_conn_t> out;
    uint64_t cursor = 0;
    wsd_conn_t page[256];
    size_t n;
    while ((n = detail::api->connections(ctx_, &cursor, page, 256, websocket_only ? 1 : 0)) > 0)
      out.insert(out.end(), page, page + n);
    return out;
  }

  // Swoole's stats(): server-wide counters, and one worker's.
  wsd_stats stats() {
    wsd_stats st{};
    st.struct_size = sizeof st;
    detail::api->stats(ctx_, &st);
    return st;
  }
  std::optional<wsd_worker_stats> worker_stats(int worker) {
    wsd_worker_stats st{};
    st.struct_size = sizeof st;
    if (detail::api->worker_stats(ctx_, worker, &st) != WSD_OK) return std::nullopt;
    return st;
  }

  // Topics: publish reaches every subscriber, the frame encoded once.
  int subscribe(wsd_conn_t conn, std::string_view topic) {
    return detail::api->subscribe(ctx_, conn, topic.data(), topic.size());
  }
  int unsubscribe(wsd_conn_t conn, std::string_view topic) {
    return detail::api->unsubscribe(ctx_, conn, topic.data(), topic.size());
  }
  int publish(std::string_view topic, std::string_view data, int opcode = WSD_OPCODE_TEXT, int flags = WSD_FLAG_FIN) {
    return detail::api->publish(ctx_, topic.data(), topic.size(), data.data(), data.size(), opcode, flags);
  }
  int broadcast(std::string_view data, int opcode = WSD_OPCODE_TEXT, int flags = WSD_FLAG_FIN) {
    return detail::api->broadcast(ctx_, data.data(), data.size(), opcode, flags);
  }

  // Cluster: the live node numbers (this one included; empty without a
  // cluster or on a host older than the cluster API) and this node's number.
  std::vector<uint16_t> cluster_nodes() {
    if (detail::api->struct_size < offsetof(wsd_api, cluster_nodes) + sizeof(void*)) return {};
    std::vector<uint16_t> out(64);
    size_t n = detail::api->cluster_nodes(ctx_, out.data(), out.size());
    if (n > out.size()) {
      out.resize(n);
      n = detail::api->cluster_nodes(ctx_, out.data(), out.size());
    }
    out.resize(std::min(n, out.size()));
    return out;
  }
  int node_number() {
    if (detail::api->struct_size < offsetof(wsd_api, node_number) + sizeof(void*)) return 0;
    return detail::api->node_number(ctx_);
  }

  void defer(std::function<void()> fn) {
    auto* heap = new std::function<void()>(std::move(fn));
    detail::api->defer(ctx_, [](wsd_ctx*, void* arg) {
      auto* f = static_cast<std::function<void()>*>(arg);
      (*f)();
      delete f;
    }, heap);
  }
  // One-shot timer; the function is freed after it runs (not when cleared first).
  uint64_t after(uint64_t ms, std::function<void()> fn) {
    auto* heap = new std::function<void()>(std::move(fn));
    return detail::api->after(ctx_, ms, [](wsd_ctx*, uint64_t, void* arg) {
      auto* f = static_cast<std::function<void()>*>(arg);
      (*f)();
      delete f;
    }, heap);
  }
  // Repeating timer; `fn` lives as long as the plugin (clear it with clear_timer).
  uint64_t tick(uint64_t ms, std::function<void(uint64_t)>* fn) {
    return detail::api->tick(ctx_, ms, [](wsd_ctx*, uint64_t id, void* arg) {
      (*static_cast<std::function<void(uint64_t)>*>(arg))(id);
    }, fn);
  }
  bool clear_timer(uint64_t id) { return detail::api->clear_timer(ctx_, id) == WSD_OK; }

  void log(int level, std::string_view msg) {
    detail::api->log(ctx_, level, "%.*s", static_cast<int>(msg.size()), msg.data());
  }
  void info(std::string_view msg) { log(WSD_LOG_INFO, msg); }
  int worker_id() { return detail::api->worker_id(ctx_); }
  int worker_num() { return detail::api->worker_num(ctx_); }

  // A scalar of the plugin's `config:` subtree ("a.b"), or `fallback`.
  std::string config(const char* dotted_key, std::string fallback = {}) {
    wsd_str s = detail::api->config_get(ctx_, dotted_key);
    return s.data ? std::string(s.data, s.len) : std::move(fallback);
  }
  std::string_view config_yaml() { return detail::view(detail::api->config_yaml(ctx_)); }

  // The manual's pack: a complete server frame.
  static std::string pack(std::string_view data, int opcode = WSD_OPCODE_TEXT, int flags = WSD_FLAG_FIN) {
    std::string out(data.size() + 14, '\0');
    out.resize(detail::api->pack(data.data(), data.size(), opcode, flags, out.data(), out.size()));
    return out;
  }

  wsd_ctx* raw() const { return ctx_; }

 private:
  wsd_ctx* ctx_;
};

namespace detail {

template <typename T>
T& instance(wsd_ctx* ctx) {
  return *static_cast<T*>(api->user(ctx));
}

// Registers only the events T declares.
template <typename T>
const wsd_plugin* make_descriptor(const char* name, uint32_t host_abi, const wsd_api* host_api) {
  if (host_abi != WSD_PLUGIN_ABI_VERSION) return nullptr;
  api = host_api;
  static wsd_plugin d{};
  d.abi_version = WSD_PLUGIN_ABI_VERSION;
  d.struct_size = sizeof(wsd_plugin);
  d.name = name;
  d.on_worker_start = [](wsd_ctx* ctx) -> int {
    T* t = new T();
    api->set_user(ctx, t);
    if constexpr (requires(Server& s) { t->on_worker_start(s); }) {
      Server s(ctx);
      t->on_worker_start(s);
    }
    return 0;
  };
  d.on_worker_stop = [](wsd_ctx* ctx) {
    T* t = static_cast<T*>(api->user(ctx));
    if constexpr (requires(Server& s) { t->on_worker_stop(s); }) {
      Server s(ctx);
      t->on_worker_stop(s);
    }
    delete t;
    api->set_user(ctx, nullptr);
  };
  if constexpr (requires(T& t, Server& s, const Request& q, Response& r) { t.on_handshake(s, q, r); }) {
    d.on_handshake = [](wsd_ctx* ctx, const wsd_request* req, wsd_response* resp) {
      Server s(ctx);
      Response r(resp);
      instance<T>(ctx).on_handshake(s, Request(req), r);
    };
  }
  if constexpr (requires(T& t, Server& s, const Request& q, Response& r) { t.on_before_handshake_response(s, q, r); }) {
    d.on_before_handshake_response = [](wsd_ctx* ctx, const wsd_request* req, wsd_response* resp) {
      Server s(ctx);
      Response r(resp);
      instance<T>(ctx).on_before_handshake_response(s, Request(req), r);
    };
  }
  if constexpr (requires(T& t, Server& s, const Request& q) { t.on_open(s, q); }) {
    d.on_open = [](wsd_ctx* ctx, const wsd_request* req) {
      Server s(ctx);
      instance<T>(ctx).on_open(s, Request(req));
    };
  }
  if constexpr (requires(T& t, Server& s, const Frame& f) { t.on_message(s, f); }) {
    d.on_message = [](wsd_ctx* ctx, const wsd_frame* f) {
      Server s(ctx);
      Frame frame{f->conn, std::string_view(f->data, f->len), f->opcode, f->flags, f->finish != 0, f->code, view(f->reason)};
      instance<T>(ctx).on_message(s, frame);
    };
  }
  if constexpr (requires(T& t, Server& s, const Request& q, Response& r) { t.on_request(s, q, r); }) {
    d.on_request = [](wsd_ctx* ctx, const wsd_request* req, wsd_response* resp) {
      Server s(ctx);
      Response r(resp);
      instance<T>(ctx).on_request(s, Request(req), r);
    };
  }
  if constexpr (requires(T& t, Server& s, const CloseInfo& c) { t.on_close(s, c); }) {
    d.on_close = [](wsd_ctx* ctx, const wsd_close_info* i) {
      Server s(ctx);
      instance<T>(ctx).on_close(s, CloseInfo{i->conn, i->code, view(i->reason), i->by_server != 0});
    };
  }
  if constexpr (requires(T& t, Server& s, wsd_conn_t c) { t.on_disconnect(s, c); }) {
    d.on_disconnect = [](wsd_ctx* ctx, wsd_conn_t conn) {
      Server s(ctx);
      instance<T>(ctx).on_disconnect(s, conn);
    };
  }
  return &d;
}

}  // namespace detail
}  // namespace wsd

// Defines the plugin's entry point for class T.
#define WSD_PLUGIN(T, name)                                                                         \
  extern "C" __attribute__((visibility("default"))) const wsd_plugin* wsd_plugin_entry(            \
      uint32_t host_abi_version, const wsd_api* host_api) {                                         \
    return ::wsd::detail::make_descriptor<T>(name, host_abi_version, host_api);                     \
  }
