// The HTTP side of a connection: the request, routing, the built-in or
// custom handshake, plain requests answered by a plugin, and refusals.
#include <arpa/inet.h>
#include <spdlog/spdlog.h>

#include "core/http_response.h"
#include "daemon/reactor.h"
#include "wsd/plugin.h"

namespace wsd::daemon {

void Reactor::feed_http(Connection& c, uint8_t* data, size_t len) {
  core::HttpRequestParser& http = *c.extra->http;   // the Http phase always has its parser
  size_t used = http.feed(reinterpret_cast<const char*>(data), len);
  switch (http.state()) {
    case core::HttpRequestParser::State::Incomplete:
      return;
    case core::HttpRequestParser::State::Error:
      spdlog::debug("[reactor {}] conn {}: bad request: {}", index_, c.id, http.error_reason());
      count_failure(HandshakeFailure::BadRequest);
      answer_http(c, http.error_status(), http.error_reason());
      return;
    case core::HttpRequestParser::State::Complete:
      on_http_request(c, std::string_view(reinterpret_cast<char*>(data) + used, len - used));
      return;
  }
}

PeerInfo Reactor::peer_info(const Connection& c) const {
  PeerInfo p;
  SessionInfo info;
  sessions_.read(c.id, info);
  char text[INET6_ADDRSTRLEN] = {};
  inet_ntop(info.family == AF_INET ? AF_INET : AF_INET6, info.addr, text, sizeof text);
  p.remote_ip = text;
  p.remote_port = info.remote_port;
  inet_ntop(info.peer_family == AF_INET ? AF_INET : AF_INET6, info.peer_addr, text, sizeof text);
  p.peer_ip = text;
  p.peer_port = info.peer_port;
  p.server_port = info.server_port;
  return p;
}

// A complete request: route it, then handshake or hand it to a plugin.
void Reactor::on_http_request(Connection& c, std::string_view leftover) {
  const core::HttpRequest& req = c.extra->http->request();
  if (!core::has_valid_host(req)) {
    count_failure(HandshakeFailure::BadRequest);
    answer_http(c, 400, "missing or repeated Host");
    return;
  }
  if (!apply_forwarded(c)) return;
  int plugin = routes_.route(req.path);
  if (plugin == kNoPlugin) {
    count_failure(HandshakeFailure::NotFound);
    answer_http(c, 404, "no plugin serves this path");
    return;
  }
  c.plugin = static_cast<int16_t>(plugin);
  if (core::is_websocket_upgrade(req)) {
    start_handshake(c, leftover);
    return;
  }
  if (!(routes_.capabilities(plugin) & kHasRequest)) {
    // The manual: without a request handler an HTTP request gets 400.
    answer_http(c, 400, "this server speaks WebSocket");
    return;
  }
  stats_->http_requests.add();
  auto p = std::make_unique<PendingRequest>();
  p->kind = PendingRequest::Kind::Request;
  p->keep_alive = req.keep_alive;
  p->head = req.method == "HEAD";
  p->leftover.assign(leftover);
  scratch_.clear();
  encode_request(req, peer_info(c), scratch_);
  c.extra->pending = std::move(p);
  c.phase = Phase::AwaitWorker;
  dispatch(c.worker, c, ipc::MessageType::Request, 0, static_cast<uint8_t>(c.plugin), scratch_);
}

void Reactor::start_handshake(Connection& c, std::string_view leftover) {
  const core::HttpRequest& req = c.extra->http->request();
  uint8_t caps = routes_.capabilities(c.plugin);
  sessions_.set_status(c.id, WSD_STATUS_HANDSHAKE);
  std::string encoded;
  encode_request(req, peer_info(c), encoded);
  if (caps & kHasHandshake) {
    // The plugin does the whole handshake itself (the manual's onHandShake).
    auto p = std::make_unique<PendingRequest>();
    p->kind = PendingRequest::Kind::CustomHandshake;
    p->leftover.assign(leftover);
    c.extra->pending = std::move(p);
    c.phase = Phase::AwaitWorker;
    dispatch(c.worker, c, ipc::MessageType::Handshake, 0, static_cast<uint8_t>(c.plugin), encoded);
    return;
  }
  core::HandshakeResult r = core::evaluate_handshake(req, settings_.handshake);
  if (r.status != 101) {
    spdlog::debug("[reactor {}] conn {}: handshake refused ({}): {}", index_, c.id, r.status, r.reason);
    count_failure(r.status == 426 ? HandshakeFailure::Version
                  : r.status == 403 ? HandshakeFailure::Origin
                                    : HandshakeFailure::Invalid);
    queue_output(c, core::build_handshake_refusal(r));
    c.plugin = -1;  // never became a WebSocket: no event for the plugin
    finish(c);
    return;
  }
  if (caps & kHasBeforeHandshake) {
    auto p = std::make_unique<PendingRequest>();
    p->kind = PendingRequest::Kind::BeforeHandshake;
    p->handshake = std::move(r);
    p->encoded_request = encoded;
    p->leftover.assign(leftover);
    c.extra->pending = std::move(p);
    c.phase = Phase::AwaitWorker;
    dispatch(c.worker, c, ipc::MessageType::BeforeHandshake, 0, static_cast<uint8_t>(c.plugin), encoded);
    return;
  }
  complete_handshake(c, r, {}, std::move(encoded), true, leftover);
}

// The 101 leaves; from here on frames flow.
void Reactor::complete_handshake(Connection& c, const core::HandshakeResult& r,
                                 const std::vector<core::HttpHeader>& extra, std::string encoded_request,
                                 bool send_open, std::string_view leftover) {
  queue_output(c, core::build_handshake_response(r, extra));
  ConnectionExtra& x = c.ext();
  if (r.deflate) {
    const core::DeflateParams& d = *r.deflate;
    x.deflater = std::make_unique<core::Deflater>(d.server_max_window_bits, d.server_no_context_takeover,
                                                  settings_.handshake.deflate.mem_level);
    x.inflater = std::make_unique<core::Inflater>(d.client_max_window_bits, d.client_no_context_takeover);
  }
  c.reader = core::MessageReader(settings_.reader, x.inflater.get());
  x.http.reset();
  x.pending.reset();
  c.phase = Phase::WebSocket;
  c.websocket = true;
  x.deadline = 0;
  sessions_.set_status(c.id, WSD_STATUS_ACTIVE);
  if (send_open) {
    dispatch(c.worker, c, ipc::MessageType::Open, 0, static_cast<uint8_t>(c.plugin), encoded_request);
  }
  replay_later(c, leftover);
  trim_extra(c);
}

// Bytes the client sent ahead of our answer are read after this loop
// iteration, as if they arrived then: in BASE mode the plugin's deferred work
// for the handshake (the manual's open logic) runs first, as in PROCESS mode.
void Reactor::replay_later(Connection& c, std::string_view bytes) {
  if (bytes.empty()) return;
  c.ext().stash.assign(bytes);
  replays_.push_back(c.id);
}

void Reactor::answer_http(Connection& c, int status, std::string_view text) {
  (void)text;
  queue_output(c, core::http_error_response(status));
  finish(c);
}

// A worker answered a custom handshake, the before-handshake event, or a
// plain request.
void Reactor::on_worker_answer(Connection& c, std::string_view payload) {
  if (c.phase != Phase::AwaitWorker || !c.extra || !c.extra->pending) return;
  HttpAnswer a;
  if (!decode_answer(payload, a)) {
    answer_http(c, 500, "bad answer from worker");
    return;
  }
  std::unique_ptr<PendingRequest> p = std::move(c.extra->pending);
  switch (p->kind) {
    case PendingRequest::Kind::CustomHandshake: {
      if (a.status == 101 && a.ended) {
        std::string head = "HTTP/1.1 101 Switching Protocols\r\n";
        for (const core::HttpHeader& h : a.headers) head += h.name + ": " + h.value + "\r\n";
        head += "\r\n";
        queue_output(c, head);
        c.reader = core::MessageReader(settings_.reader, nullptr);
        c.extra->http.reset();
        c.phase = Phase::WebSocket;
        c.websocket = true;
        c.extra->deadline = 0;
        sessions_.set_status(c.id, WSD_STATUS_ACTIVE);
        replay_later(c, p->leftover);
        trim_extra(c);
        return;
      }
      // Refused by the plugin: what it set, or a plain 400.
      count_failure(HandshakeFailure::PluginRefused);
      int status = a.status >= 200 && a.status != 101 ? a.status : 400;
      queue_output(c, core::serialize_http_response(status, a.headers, a.body, false));
      c.plugin = -1;
      finish(c);
      return;
    }
    case PendingRequest::Kind::BeforeHandshake:
      complete_handshake(c, p->handshake, a.headers, std::move(p->encoded_request), true, p->leftover);
      return;
    case PendingRequest::Kind::Request: {
      bool keep = p->keep_alive && a.keep_alive && !c.peer_half_closed;
      std::string response = core::serialize_http_response(a.status ? a.status : 200, a.headers, a.body, keep);
      // HEAD: the same head (Content-Length included) without the body (RFC 9110 §9.3.2);
      // a body would be read as the start of the next response.
      if (p->head) response.resize(response.size() - a.body.size());
      queue_output(c, response);
      if (!keep) {
        finish(c);
        return;
      }
      c.phase = Phase::Http;
      c.extra->http->reset();
      // The next request gets its own handshake_timeout: counted from accept,
      // a busy keep-alive connection would be cut off in mid-use.
      c.extra->deadline = now() + settings_.handshake_timeout;
      replay_later(c, p->leftover);
      return;
    }
  }
}

}  // namespace wsd::daemon
