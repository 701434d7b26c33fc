// The reactor's side of the cluster (docs/cluster.md): topics reported to
// the bridge, the workers' cross-node messages handed to it (reactor 0), and
// messages from other nodes run exactly like a worker's commands.
#include <unistd.h>

#include "daemon/reactor.h"

namespace wsd::daemon {

void Reactor::set_cluster(ClusterBridge* bridge) {
  cluster_ = bridge;
  if (bridge) topics_.set_watcher([bridge](std::string_view topic, bool first) { bridge->topic_ref(topic, first); });
}

void Reactor::cluster_deliver(ClusterItem item) {
  {
    std::lock_guard lock(inbox_mutex_);
    cluster_inbox_.push_back(std::move(item));
  }
  uint64_t one = 1;
  [[maybe_unused]] ssize_t n = write(wake_fd_, &one, sizeof one);
}

void Reactor::run_cluster_items(std::vector<ClusterItem>& items) {
  for (const ClusterItem& it : items) {
    switch (it.type) {
      case cluster::WireType::Push:
        on_push(it.conn, it.aux, it.data);
        break;
      case cluster::WireType::Close:
        on_close_command(it.conn, it.aux, it.data);
        break;
      case cluster::WireType::Publish:
        publish(it.topic, it.aux, it.data);
        break;
      case cluster::WireType::Broadcast:
        broadcast(it.aux, it.data);
        break;
      case cluster::WireType::Query:
      case cluster::WireType::Reply:
        break;   // answered by the bridge itself
    }
  }
}

// Every worker sends its publish / broadcast to every reactor; only reactor
// 0 hands it on, so the other nodes get one copy.
void Reactor::forward_to_cluster(const ipc::MessageHeader& h, std::string_view payload) {
  if (!cluster_) return;
  switch (h.type) {
    case ipc::MessageType::ClusterSend:
      cluster_->send_to_node(static_cast<uint16_t>(h.conn), payload);
      break;
    case ipc::MessageType::Publish:
      if (index_ == 0 && h.conn <= payload.size()) cluster_->publish(payload.substr(0, h.conn), h.aux, payload.substr(h.conn));
      break;
    case ipc::MessageType::Broadcast:
      if (index_ == 0) cluster_->publish({}, h.aux, payload);
      break;
    default:
      break;
  }
}

}  // namespace wsd::daemon
