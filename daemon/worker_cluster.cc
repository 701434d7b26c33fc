// The worker's side of the cluster (docs/cluster.md): operations on a
// connection of another node leave through reactor 0 to the master's bridge,
// which PUBLISHes them to that node.
#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <chrono>
#include <ctime>

#include "daemon/worker.h"

namespace wsd::daemon {

namespace {
constexpr size_t kMaxQueuedToReactor0 = 64 * 1024 * 1024;   // as for any reactor (worker.cc)
constexpr auto kQueryTimeout = std::chrono::milliseconds(200);
}  // namespace

int Worker::cluster_send(cluster::WireType type, uint64_t conn, uint16_t aux, std::string_view data) {
  if (base_mode() || links_.empty() || !stats_.valid()) return WSD_ERR_NO_CONNECTION;
  ClusterStats& cs = stats_.block().cluster;
  uint32_t target = node_of(conn);
  // Known dead (its heartbeat expired): refused at once. A live node's
  // connection may still be gone: then the message is dropped over there.
  if (!cs.is_live(target)) {
    cs.send_failures.add();
    return WSD_ERR_NO_CONNECTION;
  }
  Link& link = links_[0];
  if (!link.open) return WSD_ERR_NO_CONNECTION;
  if (link.channel->pending() > kMaxQueuedToReactor0) return WSD_ERR_BUFFER_FULL;
  cluster::WireMessage m;
  m.type = type;
  m.origin = node();
  m.conn = conn;
  m.aux = aux;
  m.data = data;
  scratch_.clear();
  cluster::encode(m, scratch_);
  link.channel->append(ipc::MessageType::ClusterSend, target, 0, 0, scratch_);
  return WSD_OK;
}

int Worker::cluster_query(uint64_t conn, cluster::QueryKind kind) {
  if (base_mode() || links_.empty() || !stats_.valid()) return 0;
  ClusterStats& cs = stats_.block().cluster;
  uint32_t target = node_of(conn);
  if (!cs.is_live(target) || !links_[0].open) return 0;
  std::atomic<uint32_t>& slot = stats_.block().replies[id_].value;
  // A successor in this worker slot continues after its predecessor's last
  // sequence, so an old answer left in the slot never matches a new query.
  if (query_seq_ == 0) query_seq_ = slot.load(std::memory_order_acquire) & 0xFFFFFF;
  query_seq_ = (query_seq_ + 1) & 0xFFFFFF;
  if (query_seq_ == 0) query_seq_ = 1;
  const uint32_t seq = query_seq_;
  cluster::WireMessage m;
  m.type = cluster::WireType::Query;
  m.origin = node();
  m.conn = conn;
  m.aux = static_cast<uint16_t>(kind);
  m.query = (static_cast<uint32_t>(id_) << 24) | seq;
  scratch_.clear();
  cluster::encode(m, scratch_);
  links_[0].channel->append(ipc::MessageType::ClusterSend, target, 0, 0, scratch_);
  links_[0].channel->flush();   // now: the loop does not run while we wait
  // The answer comes through the shared stats (the bridge writes this
  // worker's slot and wakes it), not through the channel: nothing the
  // channel holds is read or reordered while the plugin waits.
  const auto deadline = std::chrono::steady_clock::now() + kQueryTimeout;
  for (;;) {
    uint32_t v = slot.load(std::memory_order_acquire);
    if ((v & 0xFFFFFF) == seq) return (v >> 24) & 1;
    auto left = deadline - std::chrono::steady_clock::now();
    if (left <= std::chrono::nanoseconds(0)) {
      cs.send_failures.add();
      return 0;
    }
    auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(left).count();
    timespec ts{static_cast<time_t>(ns / 1000000000), static_cast<long>(ns % 1000000000)};
    syscall(SYS_futex, reinterpret_cast<uint32_t*>(&slot), FUTEX_WAIT, v, &ts, nullptr, 0);
  }
}

}  // namespace wsd::daemon
