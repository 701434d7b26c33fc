#include "daemon/cluster_bridge.h"

#include <hiredis/hiredis.h>
#include <linux/futex.h>
#include <spdlog/spdlog.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <climits>
#include <cstdlib>

#include "core/close_code.h"
#include "core/utf8.h"
#include "daemon/reactor.h"
#include "wsd/plugin.h"

namespace wsd::daemon {

using cluster::WireMessage;
using cluster::WireType;

namespace {

cluster::RedisAddress address_of(const config::Cluster& c) {
  cluster::RedisAddress a;
  a.host = c.redis_host;
  a.port = c.redis_port;
  a.unix_path = c.redis_unix;
  a.password = c.password;
  a.database = c.database;
  return a;
}

timeval to_timeval(double seconds) {
  return timeval{static_cast<time_t>(seconds),
                 static_cast<suseconds_t>((seconds - static_cast<double>(static_cast<time_t>(seconds))) * 1e6)};
}

}  // namespace

ClusterBridge::ClusterBridge(struct event_base* base, const config::Cluster& config, size_t max_message,
                             SessionTable& sessions, SharedStats& stats)
    : base_(base), config_(config), node_(static_cast<uint16_t>(config.node_number)), prefix_(config.channel_prefix),
      broadcast_channel_(prefix_ + ":broadcast"), own_channel_(node_channel(node_)), max_message_(max_message),
      sessions_(sessions), stats_(stats.block().cluster), shared_(stats) {
  stats_.node_number.set(node_);
  wake_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  wake_ev_ = event_new(base_, wake_fd_, EV_READ | EV_PERSIST, &ClusterBridge::on_wake, this);
  event_add(wake_ev_, nullptr);
  heartbeat_ev_ = event_new(base_, -1, EV_PERSIST, &ClusterBridge::on_heartbeat, this);
  pub_ = std::make_unique<cluster::RedisLink>(base_, address_of(config), "publish", false);
  sub_ = std::make_unique<cluster::RedisLink>(base_, address_of(config), "subscribe", true);
  publish_liveness();   // this node is live from the start, with or without Redis
}

ClusterBridge::~ClusterBridge() {
  pub_.reset();
  sub_.reset();
  event_free(heartbeat_ev_);
  event_free(wake_ev_);
  close(wake_fd_);
  stats_.up.set(0);
}

void ClusterBridge::start(std::vector<Reactor*> reactors) {
  reactors_ = std::move(reactors);
  pub_->on_connected([this] {
    stats_.up.set(sub_->up() ? 1 : 0);
    heartbeat();
  });
  sub_->on_connected([this] {
    stats_.up.set(pub_->up() ? 1 : 0);
    subscribe_all();
  });
  sub_->on_message([this](std::string_view channel, std::string_view payload) { on_message(channel, payload); });
  pub_->start();
  sub_->start();
  timeval every = to_timeval(config_.heartbeat_interval);
  event_add(heartbeat_ev_, &every);
  spdlog::info("cluster: node {} (number {}), redis {}, channel prefix '{}'", config_.node_id, node_,
               config_.redis_unix.empty() ? config_.redis_host + ":" + std::to_string(config_.redis_port)
                                          : "unix:" + config_.redis_unix,
               prefix_);
}

// ---- the outbox (reactor threads -> master loop) ----

void ClusterBridge::post(Out out) {
  bool was_empty;
  {
    std::lock_guard lock(outbox_mutex_);
    was_empty = outbox_.empty();
    outbox_.push_back(std::move(out));
  }
  if (was_empty) {
    uint64_t one = 1;
    [[maybe_unused]] ssize_t n = write(wake_fd_, &one, sizeof one);
  }
}

void ClusterBridge::send_to_node(uint16_t node, std::string_view wire) {
  post(Out{OutKind::Node, node, {}, std::string(wire)});
}

void ClusterBridge::publish(std::string_view topic, uint16_t aux, std::string_view data) {
  WireMessage m;
  m.type = topic.empty() ? WireType::Broadcast : WireType::Publish;
  m.origin = node_;
  m.aux = aux;
  m.topic = topic;
  m.data = data;
  post(Out{topic.empty() ? OutKind::Broadcast : OutKind::Topic, 0, std::string(topic), cluster::encode(m)});
}

void ClusterBridge::topic_ref(std::string_view topic, bool add) {
  post(Out{add ? OutKind::TopicAdd : OutKind::TopicDrop, 0, std::string(topic), {}});
}

void ClusterBridge::on_wake(evutil_socket_t fd, short, void* arg) {
  uint64_t n;
  [[maybe_unused]] ssize_t r = read(fd, &n, sizeof n);
  static_cast<ClusterBridge*>(arg)->drain_outbox();
}

void ClusterBridge::drain_outbox() {
  std::vector<Out> batch;
  {
    std::lock_guard lock(outbox_mutex_);
    batch.swap(outbox_);
  }
  for (Out& o : batch) {
    switch (o.kind) {
      case OutKind::TopicAdd:
        // One Redis subscription per topic with local subscribers, whatever
        // the number of reactors or connections behind it.
        if (++topic_refs_[o.topic] == 1) sub_->subscribe(topic_channel(o.topic));
        break;
      case OutKind::TopicDrop: {
        auto it = topic_refs_.find(o.topic);
        if (it == topic_refs_.end()) break;
        if (--it->second <= 0) {
          topic_refs_.erase(it);
          sub_->unsubscribe(topic_channel(o.topic));
        }
        break;
      }
      case OutKind::Node:
      case OutKind::Topic:
      case OutKind::Broadcast: {
        // Fail fast while Redis is away: dropped and counted, never queued
        // for later (at-most-once; docs/cluster.md).
        const std::string channel = o.kind == OutKind::Node    ? node_channel(o.node)
                                    : o.kind == OutKind::Topic ? topic_channel(o.topic)
                                                               : broadcast_channel_;
        if (pub_->publish(channel, o.payload)) {
          stats_.sent.add();
        } else {
          stats_.send_failures.add();
        }
        break;
      }
    }
  }
}

// Every (re)connect of the subscribe link: our node channel, the broadcast
// channel and every topic with local subscribers.
void ClusterBridge::subscribe_all() {
  sub_->subscribe(own_channel_);
  sub_->subscribe(broadcast_channel_);
  for (const auto& [topic, refs] : topic_refs_) sub_->subscribe(topic_channel(topic));
  if (!topic_refs_.empty()) spdlog::info("cluster: re-subscribed {} topic(s)", topic_refs_.size());
}

// ---- from other nodes ----

void ClusterBridge::drop(std::string_view why, std::string_view channel) {
  stats_.dropped.add();
  ++drops_since_log_;
  auto now = Clock::now();
  if (now - last_drop_log_ < std::chrono::seconds(10)) return;   // rate-limited: a flood logs one line
  last_drop_log_ = now;
  spdlog::warn("cluster: dropped {} message(s) read on our channels; the last on '{}': {}", drops_since_log_,
               channel.substr(0, 200), why);
  drops_since_log_ = 0;
}

void ClusterBridge::on_message(std::string_view channel, std::string_view payload) {
  // One copy, shared by every reactor the message goes to (hiredis frees its reply after this call).
  auto bytes = std::make_shared<const std::string>(payload);
  WireMessage m;
  if (!cluster::decode(*bytes, m)) return drop("malformed or foreign (not a wsd1 message)", channel);
  // The channel says what may arrive on it.
  bool on_node = channel == own_channel_;
  bool fits = false;
  switch (m.type) {
    case WireType::Push:
    case WireType::Close:
    case WireType::Query:
    case WireType::Reply:
      fits = on_node;
      break;
    case WireType::Broadcast:
      fits = channel == broadcast_channel_;
      break;
    case WireType::Publish:
      fits = channel.size() == prefix_.size() + 7 + m.topic.size() && channel == topic_channel(m.topic);
      break;
  }
  if (!fits) return drop("message type does not belong on this channel", channel);
  // Our own publish and broadcast come back from Redis: local subscribers
  // already had it (each gets it exactly once).
  if (m.origin == node_) {
    if (m.type == WireType::Publish || m.type == WireType::Broadcast) return;
    return drop("a message claiming to come from this node", channel);
  }
  if (m.type == WireType::Push || m.type == WireType::Close || m.type == WireType::Query) {
    if (node_of(m.conn) != node_) return drop("a connection id of another node", channel);
  }
  if ((m.type == WireType::Push || m.type == WireType::Publish || m.type == WireType::Broadcast) && !valid_push(m))
    return drop("an invalid frame (opcode, size)", channel);
  if (m.type == WireType::Close && m.aux != 0 &&
      (!core::is_valid_wire_close_code(m.aux) || m.data.size() > 123 ||
       !core::is_valid_utf8(reinterpret_cast<const uint8_t*>(m.data.data()), m.data.size())))
    return drop("an invalid close code or reason", channel);
  stats_.received.add();
  act(m, std::move(bytes));
}

bool ClusterBridge::valid_push(const WireMessage& m) const {
  uint8_t op = static_cast<uint8_t>(m.aux & 0xFF);
  if (m.data.size() > max_message_) return false;
  switch (op) {
    case WSD_OPCODE_TEXT:
    case WSD_OPCODE_BINARY:
      return true;
    case WSD_OPCODE_CONTINUATION:
      return m.type == WireType::Push;
    case WSD_OPCODE_CLOSE:
    case WSD_OPCODE_PING:
    case WSD_OPCODE_PONG:
      return m.data.size() <= 125;
    default:
      return false;
  }
}

void ClusterBridge::act(const WireMessage& m, std::shared_ptr<const std::string> bytes) {
  ClusterItem item{m.type, m.conn, m.aux, bytes, m.topic, m.data};
  switch (m.type) {
    case WireType::Push:
    case WireType::Close: {
      int r = sessions_.reactor_of(m.conn);
      if (r < 0 || r >= static_cast<int>(reactors_.size())) return;   // gone meanwhile (at-most-once)
      reactors_[r]->cluster_deliver(std::move(item));
      return;
    }
    case WireType::Publish:
    case WireType::Broadcast:
      for (Reactor* r : reactors_) r->cluster_deliver(item);
      return;
    case WireType::Query:
      answer_query(m);
      return;
    case WireType::Reply: {
      // query = worker << 24 | sequence: the worker waits on its slot's futex.
      uint32_t w = m.query >> 24;
      if (w >= shared_.block().worker_num) return;
      ClusterReplySlot& slot = shared_.block().replies[w];
      slot.value.store((m.query & 0xFFFFFF) | (m.aux ? 1u << 24 : 0), std::memory_order_release);
      syscall(SYS_futex, reinterpret_cast<uint32_t*>(&slot.value), FUTEX_WAKE, INT_MAX, nullptr, nullptr, 0);
      return;
    }
  }
}

// exist / is_established asked by another node: answered from the session
// table, which the master maps.
void ClusterBridge::answer_query(const WireMessage& m) {
  bool yes = m.aux == static_cast<uint16_t>(cluster::QueryKind::Established)
                 ? sessions_.status(m.conn) == WSD_STATUS_ACTIVE
                 : sessions_.exists(m.conn);
  WireMessage reply;
  reply.type = WireType::Reply;
  reply.origin = node_;
  reply.conn = m.conn;
  reply.aux = yes ? 1 : 0;
  reply.query = m.query;
  if (pub_->publish(node_channel(m.origin), cluster::encode(reply))) {
    stats_.sent.add();
  } else {
    stats_.send_failures.add();
  }
}

// ---- liveness ----

void ClusterBridge::on_heartbeat(evutil_socket_t, short, void* arg) { static_cast<ClusterBridge*>(arg)->heartbeat(); }

// SET <prefix>:alive:<number> "<node_id> <connections>" PX <ttl>, then read
// every alive key: the live nodes and the cluster's connection count.
// Without Redis, what was seen expires after heartbeat_ttl.
void ClusterBridge::heartbeat() {
  if (!pub_->up()) {
    auto now = Clock::now();
    auto ttl = std::chrono::duration<double>(config_.heartbeat_ttl);
    for (auto it = seen_.begin(); it != seen_.end();) {
      if (now - it->second > ttl) {
        node_connections_.erase(it->first);
        it = seen_.erase(it);
      } else {
        ++it;
      }
    }
    publish_liveness();
    return;
  }
  std::string value = config_.node_id + " " + std::to_string(sessions_.live());
  std::string ttl_ms = std::to_string(static_cast<uint64_t>(config_.heartbeat_ttl * 1000));
  pub_->command({"SET", prefix_ + ":alive:" + std::to_string(node_), value, "PX", ttl_ms});
  pub_->command({"KEYS", prefix_ + ":alive:*"}, [this](redisReply* r) { read_alive(r); });
}

void ClusterBridge::read_alive(redisReply* keys) {
  if (!keys || keys->type != REDIS_REPLY_ARRAY) return;
  std::vector<std::string> names;
  std::vector<uint16_t> numbers;
  const std::string head = prefix_ + ":alive:";
  for (size_t i = 0; i < keys->elements; ++i) {
    redisReply* k = keys->element[i];
    if (k->type != REDIS_REPLY_STRING) continue;
    std::string_view name(k->str, k->len);
    if (name.substr(0, head.size()) != head) continue;
    std::string digits(name.substr(head.size()));
    char* end = nullptr;
    long n = std::strtol(digits.c_str(), &end, 10);
    if (digits.empty() || *end != '\0' || n < 1 || n > cluster::kMaxNodeNumber) continue;
    names.emplace_back(name);
    numbers.push_back(static_cast<uint16_t>(n));
  }
  if (names.empty()) {   // not even our own key (it expired, Redis was flushed): no other node seen
    read_alive_values(numbers, nullptr);
    return;
  }
  std::vector<std::string_view> argv{"MGET"};
  for (const std::string& n : names) argv.push_back(n);
  pub_->command(argv, [this, numbers](redisReply* r) {
    if (r && r->type == REDIS_REPLY_ARRAY) read_alive_values(numbers, r);
  });
}

void ClusterBridge::read_alive_values(const std::vector<uint16_t>& numbers, redisReply* values) {
  auto now = Clock::now();
  std::unordered_map<uint16_t, Clock::time_point> seen;
  std::unordered_map<uint16_t, uint64_t> conns;
  for (size_t i = 0; i < numbers.size(); ++i) {
    uint16_t n = numbers[i];
    redisReply* v = values && values->type == REDIS_REPLY_ARRAY && i < values->elements ? values->element[i] : nullptr;
    if (values && (!v || v->type != REDIS_REPLY_STRING)) continue;   // expired between KEYS and MGET
    std::string_view text = v ? std::string_view(v->str, v->len) : std::string_view();
    size_t space = text.rfind(' ');
    std::string_view id = space == std::string_view::npos ? text : text.substr(0, space);
    if (n == node_) {
      if (v && id != config_.node_id) {
        auto t = Clock::now();
        if (t - last_collision_log_ > std::chrono::seconds(10)) {
          last_collision_log_ = t;
          spdlog::error("cluster: node number {} is also announced by node '{}' (this node is '{}'): give each "
                        "node its own cluster.node_number",
                        n, id, config_.node_id);
        }
      }
      continue;
    }
    seen[n] = now;
    if (space != std::string_view::npos) conns[n] = std::strtoull(std::string(text.substr(space + 1)).c_str(), nullptr, 10);
  }
  seen_.swap(seen);
  node_connections_.swap(conns);
  publish_liveness();
}

void ClusterBridge::publish_liveness() {
  uint64_t bits[kMaxClusterNodes / 64] = {};
  bits[node_ / 64] |= uint64_t{1} << (node_ % 64);
  uint64_t connections = sessions_.live();
  for (const auto& [n, when] : seen_) {
    bits[n / 64] |= uint64_t{1} << (n % 64);
    auto it = node_connections_.find(n);
    if (it != node_connections_.end()) connections += it->second;
  }
  for (int i = 0; i < kMaxClusterNodes / 64; ++i) stats_.live[i].store(bits[i], std::memory_order_relaxed);
  stats_.nodes.set(seen_.size() + 1);
  stats_.connections.set(connections);
}

}  // namespace wsd::daemon
