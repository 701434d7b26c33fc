#include "cluster/redis_link.h"

#include <hiredis/adapters/libevent.h>
#include <hiredis/async.h>
#include <hiredis/hiredis.h>
#include <hiredis/sds.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstring>

namespace wsd::cluster {

namespace {
constexpr double kFirstBackoff = 0.1;
constexpr double kMaxBackoff = 5.0;
// hiredis queues without limit; past this Redis is not reading and commands
// are refused instead of growing the master's memory.
constexpr size_t kMaxQueued = 64 * 1024 * 1024;
}  // namespace

RedisLink::RedisLink(struct event_base* base, RedisAddress address, std::string name, bool subscriber)
    : base_(base), address_(std::move(address)), name_(std::move(name)), subscriber_(subscriber) {
  retry_ev_ = evtimer_new(base_, &RedisLink::on_retry, this);
}

RedisLink::~RedisLink() {
  closing_ = true;
  if (ctx_) {
    ctx_->data = nullptr;   // callbacks run by the free below see no link
    redisAsyncFree(ctx_);
    ctx_ = nullptr;
  }
  event_free(retry_ev_);
}

void RedisLink::start() { connect(); }

void RedisLink::connect() {
  state_ = State::Connecting;
  redisAsyncContext* ac = address_.unix_path.empty()
                              ? redisAsyncConnect(address_.host.c_str(), address_.port)
                              : redisAsyncConnectUnix(address_.unix_path.c_str());
  if (!ac || ac->err) {
    if (!logged_down_) {
      spdlog::error("cluster: redis {} link: cannot connect: {} (retrying with back-off)", name_,
                    ac ? ac->errstr : "out of memory");
      logged_down_ = true;
    }
    if (ac) redisAsyncFree(ac);
    schedule_retry();
    return;
  }
  ac->data = this;
  redisLibeventAttach(ac, base_);
  redisAsyncSetConnectCallback(ac, &RedisLink::on_connect);
  redisAsyncSetDisconnectCallback(ac, &RedisLink::on_disconnect);
  ctx_ = ac;
}

void RedisLink::schedule_retry() {
  state_ = State::Waiting;
  double d = backoff_;
  backoff_ = std::min(backoff_ * 2, kMaxBackoff);
  timeval tv{static_cast<time_t>(d), static_cast<suseconds_t>((d - static_cast<double>(static_cast<time_t>(d))) * 1e6)};
  evtimer_add(retry_ev_, &tv);
}

void RedisLink::on_retry(evutil_socket_t, short, void* arg) { static_cast<RedisLink*>(arg)->connect(); }

void RedisLink::on_connect(const redisAsyncContext* ac, int status) {
  auto* self = static_cast<RedisLink*>(ac->data);
  if (!self || self->closing_) return;
  if (status != REDIS_OK) {
    // hiredis frees the context after this callback.
    self->ctx_ = nullptr;
    if (!self->logged_down_) {
      spdlog::error("cluster: redis {} link: cannot connect: {} (retrying with back-off)", self->name_, ac->errstr);
      self->logged_down_ = true;
    }
    self->schedule_retry();
    return;
  }
  self->state_ = State::Up;
  self->backoff_ = kFirstBackoff;
  self->logged_down_ = false;
  spdlog::info("cluster: redis {} link up", self->name_);
  if (!self->address_.password.empty()) {
    const char* argv[] = {"AUTH", self->address_.password.c_str()};
    size_t lens[] = {4, self->address_.password.size()};
    redisAsyncCommandArgv(self->ctx_, &RedisLink::on_auth, self, 2, argv, lens);
  }
  if (!self->subscriber_ && self->address_.database != 0) {
    std::string db = std::to_string(self->address_.database);
    const char* argv[] = {"SELECT", db.c_str()};
    size_t lens[] = {6, db.size()};
    redisAsyncCommandArgv(self->ctx_, &RedisLink::on_auth, self, 2, argv, lens);
  }
  if (self->on_connected_) self->on_connected_();
}

void RedisLink::on_disconnect(const redisAsyncContext* ac, int) {
  auto* self = static_cast<RedisLink*>(ac->data);
  if (!self || self->closing_) return;
  // hiredis frees the context after this callback.
  self->ctx_ = nullptr;
  self->lost(ac->errstr[0] ? ac->errstr : "connection closed");
}

void RedisLink::lost(const char* why) {
  if (!logged_down_) {
    spdlog::error("cluster: redis {} link lost: {} (reconnecting with back-off)", name_, why);
    logged_down_ = true;
  }
  schedule_retry();
}

// AUTH and SELECT: a refusal (wrong password, no such database) is an error
// of the deployment; the link is dropped and retried, logged once per outage.
void RedisLink::on_auth(redisAsyncContext* ac, void* r, void* priv) {
  auto* reply = static_cast<redisReply*>(r);
  auto* self = static_cast<RedisLink*>(priv);
  if (!reply || !ac->data || self->closing_) return;
  if (reply->type == REDIS_REPLY_ERROR) {
    spdlog::error("cluster: redis {} link: {}", self->name_, std::string_view(reply->str, reply->len));
    self->logged_down_ = true;
    redisAsyncDisconnect(ac);
  }
}

size_t RedisLink::queued() const {
  if (!ctx_ || !ctx_->c.obuf) return 0;
  return sdslen(ctx_->c.obuf);
}

bool RedisLink::send(const std::vector<std::string_view>& argv, void (*fn)(redisAsyncContext*, void*, void*),
                     void* priv) {
  if (state_ != State::Up || !ctx_ || queued() > kMaxQueued) return false;
  std::vector<const char*> args(argv.size());
  std::vector<size_t> lens(argv.size());
  for (size_t i = 0; i < argv.size(); ++i) {
    args[i] = argv[i].data();
    lens[i] = argv[i].size();
  }
  return redisAsyncCommandArgv(ctx_, fn, priv, static_cast<int>(argv.size()), args.data(), lens.data()) == REDIS_OK;
}

void RedisLink::on_reply(redisAsyncContext*, void* r, void* priv) {
  auto* fn = static_cast<ReplyFn*>(priv);
  (*fn)(static_cast<redisReply*>(r));
  delete fn;
}

bool RedisLink::command(const std::vector<std::string_view>& argv, ReplyFn fn) {
  if (!fn) return send(argv, nullptr, nullptr);
  auto* holder = new ReplyFn(std::move(fn));
  if (send(argv, &RedisLink::on_reply, holder)) return true;
  delete holder;
  return false;
}

bool RedisLink::publish(std::string_view channel, std::string_view payload) {
  return send({"PUBLISH", channel, payload}, nullptr, nullptr);
}

// Every reply on the subscribe link: subscribe confirmations and messages.
void RedisLink::on_sub_reply(redisAsyncContext* ac, void* r, void* priv) {
  auto* reply = static_cast<redisReply*>(r);
  auto* self = static_cast<RedisLink*>(priv);
  if (!reply || !ac->data || self->closing_) return;
  if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 3) return;
  redisReply* kind = reply->element[0];
  if (kind->type != REDIS_REPLY_STRING || std::string_view(kind->str, kind->len) != "message") return;
  redisReply* ch = reply->element[1];
  redisReply* data = reply->element[2];
  if (ch->type != REDIS_REPLY_STRING || data->type != REDIS_REPLY_STRING) return;
  if (self->on_message_)
    self->on_message_(std::string_view(ch->str, ch->len), std::string_view(data->str, data->len));
}

bool RedisLink::subscribe(std::string_view channel) {
  return send({"SUBSCRIBE", channel}, &RedisLink::on_sub_reply, this);
}

bool RedisLink::unsubscribe(std::string_view channel) {
  return send({"UNSUBSCRIBE", channel}, &RedisLink::on_sub_reply, this);
}

}  // namespace wsd::cluster
