#include "daemon/worker.h"

#include <signal.h>
#include <spdlog/spdlog.h>

#include "core/close_code.h"
#include "daemon/routes.h"

namespace wsd::daemon {

namespace {
// Bound on what a worker queues towards one reactor before push reports
// WSD_ERR_BUFFER_FULL: a plugin pushing in a tight loop cannot eat memory.
constexpr size_t kMaxQueuedToReactor = 64 * 1024 * 1024;
}  // namespace

Worker::Worker(const config::Config& config, int id, std::vector<int> channel_fds, int session_fd)
    : config_(config), id_(id), settings_(make_settings(config)), sessions_(SessionTable::attach(session_fd)) {
  base_ = event_base_new();
  size_t max_message = settings_.package_max_length + 64 * 1024;
  links_.resize(channel_fds.size());
  for (size_t r = 0; r < channel_fds.size(); ++r) {
    links_[r].channel = std::make_unique<ipc::Channel>(channel_fds[r], max_message);
    links_[r].ev = event_new(base_, channel_fds[r], EV_READ | EV_PERSIST, &Worker::on_channel_event, this);
    event_add(links_[r].ev, nullptr);
  }
}

Worker::~Worker() {
  timers_.clear();
  for (Link& l : links_) event_free(l.ev);
  links_.clear();
  unload_plugins(plugins_);
  event_base_free(base_);
}

int Worker::run() {
  // The master decides when workers stop (it closes their channels); a
  // Ctrl-C reaching the whole process group must not cut a worker short.
  signal(SIGINT, SIG_IGN);
  signal(SIGPIPE, SIG_IGN);
  std::string error;
  if (!load_plugins(config_.plugins, plugin_api(), this, plugins_, error)) {
    spdlog::critical("plugin refused: {}", error);
    return 3;
  }
  for (auto& p : plugins_) {
    if (p->ctx.plugin->on_worker_start && p->ctx.plugin->on_worker_start(&p->ctx) != 0) {
      spdlog::critical("plugin {} failed its worker start", p->ctx.config->name);
      return 3;
    }
  }
  std::string caps;
  for (auto& p : plugins_) caps.push_back(static_cast<char>(plugin_capabilities(p->ctx.plugin)));
  links_[0].channel->append(ipc::MessageType::Hello, static_cast<uint64_t>(id_), 0, 0, caps);
  flush_links();

  while (!all_links_closed()) {
    event_base_loop(base_, EVLOOP_ONCE);
    after_iteration();
  }
  for (auto& p : plugins_) {
    if (p->ctx.plugin->on_worker_stop) p->ctx.plugin->on_worker_stop(&p->ctx);
  }
  return 0;
}

bool Worker::all_links_closed() const {
  for (const Link& l : links_) {
    if (l.open) return false;
  }
  return true;
}

void Worker::on_channel_event(evutil_socket_t fd, short what, void* arg) {
  auto* self = static_cast<Worker*>(arg);
  for (size_t r = 0; r < self->links_.size(); ++r) {
    if (self->links_[r].channel->fd() != fd) continue;
    if (what & EV_READ) self->read_link(static_cast<int>(r));
    return;
  }
}

void Worker::read_link(int r) {
  Link& link = links_[r];
  ipc::Channel::IoResult res = link.channel->read_messages(
      [&](const ipc::MessageHeader& h, std::string_view payload) { handle(r, h, payload); });
  if (res == ipc::Channel::IoResult::Closed || res == ipc::Channel::IoResult::Error) {
    link.open = false;
    event_del(link.ev);
  }
}

// One event from a reactor: find the plugin and call it.
void Worker::handle(int r, const ipc::MessageHeader& h, std::string_view payload) {
  links_[r].processed++;
  counters_.events++;
  if (h.flags >= plugins_.size()) return;
  wsd_ctx& ctx = plugins_[h.flags]->ctx;
  const wsd_plugin* p = ctx.plugin;
  switch (h.type) {
    case ipc::MessageType::Message:
      counters_.messages++;
      deliver_message(ctx, h, payload);
      break;
    case ipc::MessageType::Open:
      if (p->on_open && decode_request(payload, h.conn, request_view_)) p->on_open(&ctx, &request_view_.req);
      break;
    case ipc::MessageType::Close: {
      accepted_handshakes_.erase(h.conn);
      if (!p->on_close) break;
      wsd_close_info info{};
      info.conn = h.conn;
      info.code = h.aux;
      info.by_server = payload.empty() ? 0 : static_cast<uint8_t>(payload[0]);
      if (!payload.empty()) info.reason = wsd_str{payload.data() + 1, payload.size() - 1};
      p->on_close(&ctx, &info);
      break;
    }
    case ipc::MessageType::Disconnect:
      accepted_handshakes_.erase(h.conn);
      if (p->on_disconnect) p->on_disconnect(&ctx, h.conn);
      break;
    case ipc::MessageType::Request:
    case ipc::MessageType::Handshake:
    case ipc::MessageType::BeforeHandshake:
      answer(r, ctx, h.type, h, payload);
      break;
    default:
      spdlog::warn("unexpected message type {}", static_cast<int>(h.type));
      break;
  }
}

void Worker::deliver_message(wsd_ctx& ctx, const ipc::MessageHeader& h, std::string_view payload) {
  if (!ctx.plugin->on_message) return;
  wsd_frame f{};
  f.conn = h.conn;
  f.opcode = static_cast<uint8_t>(h.aux & 0xFF);
  f.flags = static_cast<uint8_t>(h.aux >> 8);
  f.finish = 1;
  f.data = payload.data();
  f.len = payload.size();
  if (f.opcode == WSD_OPCODE_CLOSE) {
    core::ParsedClose pc = core::parse_close_payload(reinterpret_cast<const uint8_t*>(payload.data()), payload.size());
    f.code = pc.code;
    f.reason = wsd_str{pc.reason.data(), pc.reason.size()};
  }
  ctx.plugin->on_message(&ctx, &f);
}

// Handshake, before-handshake and request events need an answer.
void Worker::answer(int r, wsd_ctx& ctx, ipc::MessageType type, const ipc::MessageHeader& h,
                    std::string_view payload) {
  wsd_response resp;
  const wsd_plugin* p = ctx.plugin;
  if (decode_request(payload, h.conn, request_view_)) {
    const wsd_request* req = &request_view_.req;
    if (type == ipc::MessageType::Request && p->on_request) {
      resp.answer.status = 200;
      p->on_request(&ctx, req, &resp);
    } else if (type == ipc::MessageType::Handshake && p->on_handshake) {
      p->on_handshake(&ctx, req, &resp);
      if (resp.answer.status == 101 && resp.answer.ended) accepted_handshakes_.insert(h.conn);
    } else if (type == ipc::MessageType::BeforeHandshake && p->on_before_handshake_response) {
      p->on_before_handshake_response(&ctx, req, &resp);
    }
  }
  std::string encoded;
  encode_answer(resp.answer, encoded);
  links_[r].channel->append(ipc::MessageType::Response, h.conn, 0, 0, encoded);
}

uint8_t Worker::websocket_status(uint64_t conn) {
  uint8_t status = sessions_.status(conn);
  if (accepted_handshakes_.empty()) return status;
  auto it = accepted_handshakes_.find(conn);
  if (it == accepted_handshakes_.end()) return status;
  if (status == WSD_STATUS_HANDSHAKE) return WSD_STATUS_ACTIVE;
  accepted_handshakes_.erase(it);  // the reactor has caught up (or the connection is gone)
  return status;
}

int Worker::send_to_reactor(uint64_t conn, ipc::MessageType type, uint16_t aux, std::string_view payload,
                            std::string_view payload2) {
  int r = sessions_.reactor_of(conn);
  if (r < 0 || r >= static_cast<int>(links_.size())) return WSD_ERR_NO_CONNECTION;
  Link& link = links_[r];
  if (!link.open) return WSD_ERR_NO_CONNECTION;
  if (link.channel->pending() > kMaxQueuedToReactor) return WSD_ERR_BUFFER_FULL;
  link.channel->append(type, conn, aux, 0, payload, payload2);
  return WSD_OK;
}

void Worker::after_iteration() {
  run_deferred();
  for (Link& l : links_) {
    if (l.processed == 0 || !l.open) continue;
    l.channel->append(ipc::MessageType::Processed, l.processed, 0, 0, {});
    l.processed = 0;
  }
  flush_links();
}

void Worker::run_deferred() {
  // Callbacks deferred by deferred callbacks run too, but a bounded number of
  // rounds so that a plugin deferring forever cannot starve the loop.
  for (int round = 0; round < 16 && !deferred_.empty(); ++round) {
    std::deque<Deferred> batch;
    batch.swap(deferred_);
    for (const Deferred& d : batch) d.fn(d.ctx, d.arg);
  }
}

void Worker::flush_links() {
  for (Link& l : links_) {
    if (!l.open || l.channel->pending() == 0) continue;
    ipc::Channel::IoResult res = l.channel->flush();
    bool want_write = res == ipc::Channel::IoResult::WouldBlock;
    if (want_write != l.want_write) {
      l.want_write = want_write;
      event_del(l.ev);
      event_assign(l.ev, base_, l.channel->fd(), EV_READ | EV_PERSIST | (want_write ? EV_WRITE : 0),
                   &Worker::on_channel_event, this);
      event_add(l.ev, nullptr);
    }
  }
}

int Worker::defer(wsd_ctx* ctx, wsd_defer_fn fn, void* arg) {
  if (!fn) return WSD_ERR_INVALID;
  deferred_.push_back({ctx, fn, arg});
  return WSD_OK;
}

uint64_t Worker::add_timer(wsd_ctx* ctx, uint64_t ms, bool repeat, wsd_timer_fn fn, void* arg) {
  if (!fn) return 0;
  auto t = std::make_unique<Timer>();
  t->worker = this;
  t->id = next_timer_id_++;
  t->ctx = ctx;
  t->fn = fn;
  t->arg = arg;
  t->repeat = repeat;
  t->ev = event_new(base_, -1, repeat ? EV_PERSIST : 0, &Worker::on_timer, t.get());
  timeval tv{static_cast<time_t>(ms / 1000), static_cast<suseconds_t>((ms % 1000) * 1000)};
  event_add(t->ev, &tv);
  uint64_t id = t->id;
  timers_[id] = std::move(t);
  return id;
}

bool Worker::clear_timer(uint64_t timer_id) {
  auto it = timers_.find(timer_id);
  if (it == timers_.end()) return false;
  timers_.erase(it);
  return true;
}

void Worker::on_timer(evutil_socket_t, short, void* arg) {
  auto* t = static_cast<Timer*>(arg);
  Worker* self = t->worker;
  uint64_t id = t->id;
  bool repeat = t->repeat;
  t->fn(t->ctx, id, t->arg);  // may clear this very timer
  if (!repeat) self->clear_timer(id);
}

}  // namespace wsd::daemon
