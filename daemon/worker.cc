#include "daemon/worker.h"

#include <signal.h>
#include <cstdlib>
#include <spdlog/spdlog.h>

#include "core/close_code.h"
#include "daemon/logging.h"
#include "daemon/routes.h"
#include "daemon/slot_index.h"

namespace wsd::daemon {

namespace {
// Bound on what a worker queues towards one reactor before push reports
// WSD_ERR_BUFFER_FULL: a plugin pushing in a tight loop cannot eat memory.
constexpr size_t kMaxQueuedToReactor = 64 * 1024 * 1024;
}  // namespace

Worker::Worker(const config::Config& config, const WorkerLaunch& launch)
    : config_(config), id_(launch.id), settings_(make_settings(config)),
      sessions_(SessionTable::attach(launch.session_fd)), launch_(launch) {
  if (launch.stats_fd >= 0) {
    stats_ = SharedStats::attach(launch.stats_fd);
    counters_.attach(&stats_.worker(id_));
  }
  base_ = event_base_new();
  size_t max_message = settings_.package_max_length + 64 * 1024;
  links_.resize(launch.channel_fds.size());
  for (size_t r = 0; r < launch.channel_fds.size(); ++r) {
    int fd = launch.channel_fds[r];
    links_[r].channel = std::make_unique<ipc::Channel>(fd, max_message, ipc::kLargePayloadRing);
    links_[r].ev = event_new(base_, fd, EV_READ | EV_PERSIST, &Worker::on_channel_event, this);
    event_add(links_[r].ev, nullptr);
  }
  if (launch.control_fd >= 0) control_ = std::make_unique<ipc::Channel>(launch.control_fd, 64 * 1024);
}

Worker::~Worker() {
  timers_.clear();
  reactor_.reset();
  for (Link& l : links_) event_free(l.ev);
  links_.clear();
  if (stop_ev_) event_free(stop_ev_);
  if (reload_ev_) event_free(reload_ev_);
  unload_plugins(plugins_);
  unmap_slot_index(by_slot_, by_slot_slots_);
  event_base_free(base_);
}

int Worker::run() {
  // PROCESS mode: the master decides when workers stop (it closes their
  // channels); a Ctrl-C reaching the whole process group must not cut a
  // worker short. BASE mode: the master forwards SIGTERM.
  signal(SIGINT, SIG_IGN);
  signal(SIGHUP, SIG_IGN);   // the master handles reloads; BASE workers re-arm it below
  signal(SIGPIPE, SIG_IGN);
  // SIGUSR1 (forwarded by the master, for logrotate): reopen the log file.
  std::unique_ptr<struct event, void (*)(struct event*)> usr1_ev(
      evsignal_new(base_, SIGUSR1, [](evutil_socket_t, short, void*) { reopen_logs(); }, nullptr), &event_free);
  event_add(usr1_ev.get(), nullptr);
  std::string error;
  if (!load_plugins(config_.plugins, plugin_api(), this, plugins_, error)) {
    spdlog::critical("plugin refused: {}", error);
    return 3;
  }
  for (auto& p : plugins_) {
    if (p->ctx.plugin->on_worker_start && p->ctx.plugin->on_worker_start(&p->ctx) != 0) {
      spdlog::critical("plugin {}: on_worker_start returned non-zero (its own log lines say why)",
                       p->ctx.config->name);
      return 3;
    }
  }
  if (config_.mode == config::Mode::Base && !start_base_reactor(launch_)) return 3;
  send_hello();

  if (base_mode()) {
    do {
      event_base_loop(base_, EVLOOP_ONCE);
      // The clients' reads before the deferred callbacks (after_iteration):
      // what a plugin defers while handling them runs in this iteration,
      // ahead of the bytes the reactor replays after it.
      reactor_->client_pass();
      after_iteration();
      reactor_->after_iteration();
    } while (!reactor_->stop_complete());
  } else {
    while (!all_links_closed()) {
      event_base_loop(base_, EVLOOP_ONCE);
      after_iteration();
    }
  }
  for (auto& p : plugins_) {
    if (p->ctx.plugin->on_worker_stop) p->ctx.plugin->on_worker_stop(&p->ctx);
  }
  return 0;
}

// BASE mode: the reactor runs here, on this loop, accepting from this
// worker's own SO_REUSEPORT sockets; events go straight to the plugins.
bool Worker::start_base_reactor(const WorkerLaunch& launch) {
  std::string error;
  if (!load_listeners(settings_, config_, error)) {
    spdlog::critical("{}", error);
    return false;
  }
  routes_ = std::make_unique<Routes>(config_.plugins);
  for (size_t i = 0; i < plugins_.size(); ++i)
    routes_->set_capabilities(static_cast<int>(i), plugin_capabilities(plugins_[i]->ctx.plugin));
  sessions_.set_partition(static_cast<uint32_t>(id_));
  by_slot_slots_ = sessions_.capacity();
  by_slot_ = map_slot_index(by_slot_slots_);
  reactor_ = std::make_unique<Reactor>(id_, settings_, sessions_, *routes_, by_slot_, base_, this,
                                       static_cast<uint16_t>(id_));
  if (stats_.valid()) reactor_->set_stats(&stats_.reactor(id_));
  for (size_t i = 0; i < launch.listen_fds.size(); ++i)
    reactor_->listen(launch.listen_fds[i].first, launch.listen_fds[i].second, static_cast<uint8_t>(i));
  stop_ev_ = evsignal_new(base_, SIGTERM, &Worker::on_stop_signal, this);
  event_add(stop_ev_, nullptr);
  reload_ev_ = evsignal_new(base_, SIGHUP, [](evutil_socket_t, short, void* arg) {
    reload_certificates(static_cast<Worker*>(arg)->settings_);
  }, this);
  event_add(reload_ev_, nullptr);
  return true;
}

void Worker::on_stop_signal(evutil_socket_t, short, void* arg) {
  auto* self = static_cast<Worker*>(arg);
  spdlog::info("stopping: closing connections");
  self->reactor_->request_stop();
}

// Tells the master the plugins loaded (and which events each handles).
void Worker::send_hello() {
  std::string caps;
  for (auto& p : plugins_) caps.push_back(static_cast<char>(plugin_capabilities(p->ctx.plugin)));
  ipc::Channel* ch = control_ ? control_.get() : links_[0].channel.get();
  ch->append(ipc::MessageType::Hello, static_cast<uint64_t>(id_), 0, 0, caps);
  ch->flush();
}

void Worker::deliver(ipc::MessageType type, uint64_t conn, uint16_t aux, uint8_t plugin, std::string_view payload,
                     std::string_view payload2) {
  ipc::MessageHeader h{};
  h.type = type;
  h.conn = conn;
  h.aux = aux;
  h.flags = plugin;
  if (!payload2.empty()) {
    scratch_.assign(payload);
    scratch_.append(payload2);
    std::string local;
    local.swap(scratch_);  // a plugin's nested event may reuse scratch_
    handle(-1, h, local);
    return;
  }
  handle(-1, h, payload);
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

// One event, from a reactor's channel (r) or, in BASE mode, from this
// process's reactor (r = -1): find the plugin and call it.
void Worker::handle(int r, const ipc::MessageHeader& h, std::string_view payload) {
  if (r >= 0) links_[r].processed++;
  counters_.event();
  if (h.flags >= plugins_.size()) return;
  wsd_ctx& ctx = plugins_[h.flags]->ctx;
  const wsd_plugin* p = ctx.plugin;
  switch (h.type) {
    case ipc::MessageType::Message:
      counters_.message();
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
  (void)r;
  std::string encoded;
  encode_answer(resp.answer, encoded);
  send_to_reactor(h.conn, ipc::MessageType::Response, 0, encoded);
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
  if (base_mode()) return send_to_own_reactor(conn, type, aux, payload, payload2);
  int r = sessions_.reactor_of(conn);
  if (r < 0 || r >= static_cast<int>(links_.size())) return WSD_ERR_NO_CONNECTION;
  Link& link = links_[r];
  if (!link.open) return WSD_ERR_NO_CONNECTION;
  if (link.channel->pending() > kMaxQueuedToReactor) return WSD_ERR_BUFFER_FULL;
  link.channel->append(type, conn, aux, 0, payload, payload2);
  return WSD_OK;
}

// BASE mode: commands go to this process's reactor, which owns only the
// connections this worker accepted; the others cannot be reached (as in
// Swoole's BASE mode).
int Worker::send_to_own_reactor(uint64_t conn, ipc::MessageType type, uint16_t aux, std::string_view payload,
                                std::string_view payload2) {
  if (!sessions_.exists(conn)) return WSD_ERR_NO_CONNECTION;
  if (sessions_.reactor_of(conn) != id_) {
    if (!not_supported_logged_) {
      not_supported_logged_ = true;  // once per cause: this is the only one
      spdlog::warn("conn {} belongs to another worker: BASE mode does not route between workers "
                   "(push, disconnect and close reach only this worker's own connections)", conn);
    }
    return WSD_ERR_NOT_SUPPORTED;
  }
  if (payload2.empty()) {
    reactor_->command(type, conn, aux, payload);
  } else {
    std::string joined(payload);
    joined.append(payload2);
    reactor_->command(type, conn, aux, joined);
  }
  return WSD_OK;
}

// The fan-out itself happens in the reactors, which encode the frame once for
// all their recipients: a publish costs one IPC message per reactor, not one
// per recipient. All or nothing: a reactor's channel over its bound refuses
// the whole publish. BASE mode reaches this process's connections only.
int Worker::fan_out(std::string_view topic, uint16_t aux, std::string_view data) {
  if (base_mode()) {
    if (topic.empty()) {
      reactor_->broadcast(aux, data);
    } else {
      reactor_->publish(topic, aux, data);
    }
    return WSD_OK;
  }
  for (const Link& l : links_) {
    if (l.open && l.channel->pending() > kMaxQueuedToReactor) return WSD_ERR_BUFFER_FULL;
  }
  for (Link& l : links_) {
    if (!l.open) continue;
    if (topic.empty()) {
      l.channel->append(ipc::MessageType::Broadcast, 0, aux, 0, data);
    } else {
      l.channel->append(ipc::MessageType::Publish, topic.size(), aux, 0, topic, data);
    }
  }
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
  size_t queued = 0;   // left after the flush: the worker's IPC queue depth
  for (Link& l : links_) {
    if (!l.open || l.channel->pending() == 0) continue;
    ipc::Channel::IoResult res = l.channel->flush();
    queued += l.channel->pending();
    bool want_write = res == ipc::Channel::IoResult::WouldBlock;
    if (want_write != l.want_write) {
      l.want_write = want_write;
      event_del(l.ev);
      event_assign(l.ev, base_, l.channel->fd(), EV_READ | EV_PERSIST | (want_write ? EV_WRITE : 0),
                   &Worker::on_channel_event, this);
      event_add(l.ev, nullptr);
    }
  }
  counters_.set_queue_bytes(queued);
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
