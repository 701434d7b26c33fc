// One hiredis asynchronous connection to Redis on a libevent loop: TCP or a
// unix socket, AUTH and SELECT on each connect, reconnection with back-off
// (100 ms doubling to 5 s) whenever the connection fails or is lost. Nothing
// here blocks: commands are queued in hiredis' output buffer and written
// when the socket takes them; while the link is down they are refused at
// once (the caller counts them).
//
// A link is either a command link (publish, heartbeat keys) or a subscribe
// link (SUBSCRIBE / UNSUBSCRIBE and the messages that arrive): Redis allows
// nothing else on a connection in subscribed mode. All calls come from the
// loop's thread.
#pragma once

#include <event2/event.h>

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

struct redisAsyncContext;
struct redisReply;

namespace wsd::cluster {

struct RedisAddress {
  std::string host = "127.0.0.1";
  uint16_t port = 6379;
  std::string unix_path;     // used instead of host/port when set
  std::string password;      // AUTH when set
  int database = 0;          // SELECT on command links (pub/sub ignores it)
};

class RedisLink {
 public:
  using ReplyFn = std::function<void(redisReply*)>;   // nullptr reply: failed or link lost
  using MessageFn = std::function<void(std::string_view channel, std::string_view payload)>;

  RedisLink(struct event_base* base, RedisAddress address, std::string name, bool subscriber);
  ~RedisLink();
  RedisLink(const RedisLink&) = delete;
  RedisLink& operator=(const RedisLink&) = delete;

  // Called after every successful (re)connect, once AUTH / SELECT are queued.
  void on_connected(std::function<void()> fn) { on_connected_ = std::move(fn); }
  // Subscribe links: each message received on a subscribed channel.
  void on_message(MessageFn fn) { on_message_ = std::move(fn); }
  // Starts connecting (and retrying).
  void start();
  bool up() const { return state_ == State::Up; }

  // Command links. False when the link is down or its output is over the
  // bound (Redis not reading): the command was not sent.
  bool command(const std::vector<std::string_view>& argv, ReplyFn fn = {});
  bool publish(std::string_view channel, std::string_view payload);
  // Subscribe links. False when down (the owner re-subscribes on connect).
  bool subscribe(std::string_view channel);
  bool unsubscribe(std::string_view channel);
  // Bytes waiting in hiredis' output buffer.
  size_t queued() const;

 private:
  enum class State : uint8_t { Idle, Connecting, Up, Waiting };
  void connect();
  void lost(const char* why);
  void schedule_retry();
  bool send(const std::vector<std::string_view>& argv, void (*fn)(redisAsyncContext*, void*, void*), void* priv);
  static void on_connect(const redisAsyncContext* ac, int status);
  static void on_disconnect(const redisAsyncContext* ac, int status);
  static void on_reply(redisAsyncContext* ac, void* reply, void* priv);
  static void on_sub_reply(redisAsyncContext* ac, void* reply, void* priv);
  static void on_auth(redisAsyncContext* ac, void* reply, void* priv);
  static void on_retry(evutil_socket_t, short, void* arg);

  struct event_base* base_;
  RedisAddress address_;
  std::string name_;
  bool subscriber_;
  State state_ = State::Idle;
  redisAsyncContext* ctx_ = nullptr;
  struct event* retry_ev_ = nullptr;
  double backoff_ = 0.1;
  bool logged_down_ = false;       // one error line per outage, not one per retry
  bool closing_ = false;
  std::function<void()> on_connected_;
  MessageFn on_message_;
};

}  // namespace wsd::cluster
