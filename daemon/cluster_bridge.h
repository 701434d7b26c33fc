// The cluster bridge (docs/cluster.md): in the master process, on the
// master's event loop (never a reactor's), it joins this node to the others
// over Redis. It owns two Redis links (commands + PUBLISH; SUBSCRIBE), the
// node liveness (heartbeat keys), the per-topic Redis subscriptions
// (reference-counted over the reactors) and a thread-safe outbox that the
// reactors feed. What arrives from other nodes goes to the owning reactor
// (push, close) or to every reactor (publish, broadcast) through
// Reactor::cluster_deliver, or is answered here (exist / is_established).
//
// It writes the live-node bitmap and the counters into the shared stats
// (ClusterStats), so workers and /metrics read them without a round trip.
#pragma once

#include <event2/event.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "cluster/redis_link.h"
#include "cluster/wire.h"
#include "config/config.h"
#include "daemon/session_table.h"
#include "daemon/stats.h"

namespace wsd::daemon {

class Reactor;

// A message from another node for a reactor: `msg` holds the bytes that
// topic and data point into, shared by every reactor it goes to.
struct ClusterItem {
  cluster::WireType type;
  uint64_t conn = 0;
  uint16_t aux = 0;
  std::shared_ptr<const std::string> msg;
  std::string_view topic;
  std::string_view data;
};

class ClusterBridge {
 public:
  ClusterBridge(struct event_base* base, const config::Cluster& config, size_t max_message, SessionTable& sessions,
                SharedStats& stats);
  ~ClusterBridge();
  ClusterBridge(const ClusterBridge&) = delete;
  ClusterBridge& operator=(const ClusterBridge&) = delete;

  // Starts the links and the heartbeat; `reactors` outlive the bridge's use of them.
  void start(std::vector<Reactor*> reactors);
  uint16_t node() const { return node_; }

  // Thread-safe (reactors). A wire message for node `node` (push, close, query).
  void send_to_node(uint16_t node, std::string_view wire);
  // A local publish (topic not empty) or broadcast, for the other nodes.
  void publish(std::string_view topic, uint16_t aux, std::string_view data);
  // A reactor's topic got its first subscriber (add) or lost its last.
  void topic_ref(std::string_view topic, bool add);

 private:
  enum class OutKind : uint8_t { Node, Topic, Broadcast, TopicAdd, TopicDrop };
  struct Out {
    OutKind kind;
    uint16_t node;
    std::string topic;
    std::string payload;
  };

  void post(Out out);
  static void on_wake(evutil_socket_t fd, short, void* arg);
  void drain_outbox();
  void subscribe_all();
  void on_message(std::string_view channel, std::string_view payload);
  void act(const cluster::WireMessage& m, std::shared_ptr<const std::string> bytes);
  void answer_query(const cluster::WireMessage& m);
  void drop(std::string_view why, std::string_view channel);
  bool valid_push(const cluster::WireMessage& m) const;
  static void on_heartbeat(evutil_socket_t, short, void* arg);
  void heartbeat();
  void read_alive(struct redisReply* keys);
  void read_alive_values(const std::vector<uint16_t>& numbers, struct redisReply* values);
  void publish_liveness();
  std::string node_channel(uint16_t node) const { return prefix_ + ":node:" + std::to_string(node); }
  std::string topic_channel(std::string_view topic) const { return prefix_ + ":topic:" + std::string(topic); }

  struct event_base* base_;
  const config::Cluster& config_;
  const uint16_t node_;
  const std::string prefix_;
  const std::string broadcast_channel_;
  const std::string own_channel_;
  const size_t max_message_;
  SessionTable& sessions_;
  ClusterStats& stats_;
  SharedStats& shared_;
  std::vector<Reactor*> reactors_;
  std::unique_ptr<cluster::RedisLink> pub_;
  std::unique_ptr<cluster::RedisLink> sub_;

  std::mutex outbox_mutex_;
  std::vector<Out> outbox_;
  int wake_fd_ = -1;
  struct event* wake_ev_ = nullptr;
  struct event* heartbeat_ev_ = nullptr;

  // Master thread only.
  std::unordered_map<std::string, int> topic_refs_;   // topic -> reactors with local subscribers
  using Clock = std::chrono::steady_clock;
  std::unordered_map<uint16_t, Clock::time_point> seen_;        // other nodes and when last seen alive
  std::unordered_map<uint16_t, uint64_t> node_connections_;
  Clock::time_point last_drop_log_{};
  uint64_t drops_since_log_ = 0;
  Clock::time_point last_collision_log_{};
};

}  // namespace wsd::daemon
