#include "daemon/metrics.h"

#include <string_view>

namespace wsd::daemon {

namespace {

class Page {
 public:
  // A metric family: its HELP and TYPE lines, once.
  void family(std::string_view name, std::string_view type, std::string_view help) {
    out_ += "# HELP wsd_";
    out_ += name;
    out_ += ' ';
    out_ += help;
    out_ += "\n# TYPE wsd_";
    out_ += name;
    out_ += ' ';
    out_ += type;
    out_ += '\n';
  }
  void sample(std::string_view name, uint64_t value, std::string_view labels = {}) {
    out_ += "wsd_";
    out_ += name;
    if (!labels.empty()) {
      out_ += '{';
      out_ += labels;
      out_ += '}';
    }
    out_ += ' ';
    out_ += std::to_string(value);
    out_ += '\n';
  }
  void one(std::string_view name, std::string_view type, std::string_view help, uint64_t value) {
    family(name, type, help);
    sample(name, value);
  }
  std::string take() { return std::move(out_); }

 private:
  std::string out_;
};

std::string label(std::string_view key, uint64_t value) {
  return std::string(key) + "=\"" + std::to_string(value) + "\"";
}

}  // namespace

std::string render_metrics(const SharedStats& stats, const MasterView& view) {
  const StatsBlock& b = stats.block();
  Page p;
  p.one("start_time_seconds", "gauge", "Unix time the server started.", static_cast<uint64_t>(b.start_time));
  p.one("connections", "gauge", "Client connections open now (before and after the handshake).", view.connections);
  p.one("connections_accepted_total", "counter", "Client connections accepted.", stats.sum(&ReactorStats::accepted));
  p.one("connections_closed_total", "counter", "Client connections closed.", stats.sum(&ReactorStats::closed));
  p.one("connections_refused_total", "counter", "Connections refused: max_connection, per-IP limits.",
        stats.sum(&ReactorStats::refused));
  p.family("handshake_failures_total", "counter", "Connections that did not become a WebSocket, by reason.");
  for (int f = 0; f < static_cast<int>(HandshakeFailure::kCount); ++f) {
    auto reason = static_cast<HandshakeFailure>(f);
    p.sample("handshake_failures_total", stats.sum_failures(reason),
             std::string("reason=\"") + handshake_failure_name(reason) + "\"");
  }
  p.one("http_requests_total", "counter", "Plain HTTP requests handed to a plugin.",
        stats.sum(&ReactorStats::http_requests));
  p.one("messages_received_total", "counter", "WebSocket messages received from clients.",
        stats.sum(&ReactorStats::messages_in));
  p.one("messages_sent_total", "counter", "WebSocket data frames sent to clients.",
        stats.sum(&ReactorStats::messages_out));
  p.one("bytes_received_total", "counter", "Bytes read from client sockets.", stats.sum(&ReactorStats::bytes_in));
  p.one("bytes_sent_total", "counter", "Bytes written to client sockets.", stats.sum(&ReactorStats::bytes_out));
  p.one("deliveries_refused_total", "counter",
        "Pushes and publishes dropped because the connection's output was over buffer_output_size.",
        stats.sum(&ReactorStats::deliveries_refused));
  p.one("lost_events_total", "counter", "Events a worker had taken but not finished when it died.",
        stats.sum(&ReactorStats::lost_events));
  p.one("topics", "gauge", "Topics with at least one subscriber.", stats.sum(&ReactorStats::topics));
  p.family("ipc_queue_bytes", "gauge", "Bytes queued on IPC channels, by side (sampled each second by reactors).");
  for (uint32_t r = 0; r < b.reactor_count; ++r)
    p.sample("ipc_queue_bytes", stats.reactor(static_cast<int>(r)).ipc_queue_bytes.get(),
             "side=\"reactor\"," + label("index", r));
  for (uint32_t w = 0; w < b.worker_num; ++w)
    p.sample("ipc_queue_bytes", stats.worker(static_cast<int>(w)).queue_bytes.get(),
             "side=\"worker\"," + label("index", w));
  p.one("workers", "gauge", "Worker processes configured (worker_num).", b.worker_num);
  p.one("workers_alive", "gauge", "Worker processes running now.", static_cast<uint64_t>(view.workers_alive));
  p.one("reloading", "gauge", "1 while workers are being replaced (SIGHUP, max_request).", view.reloading ? 1 : 0);

  struct PerWorker {
    const char* name;
    const char* help;
    Counter WorkerStats::*field;
  };
  static const PerWorker kPerWorker[] = {
      {"worker_events_total", "Events handed to plugins, by worker.", &WorkerStats::events},
      {"worker_messages_total", "WebSocket messages handled, by worker.", &WorkerStats::messages},
      {"worker_pushes_total", "Pushes sent, by worker.", &WorkerStats::pushes},
      {"worker_failed_calls_total", "Plugin calls refused (push to a closed connection, full output, ...), by worker.",
       &WorkerStats::failed_calls},
      {"worker_restarts_total", "Times the worker process was replaced (crash, reload, max_request).",
       &WorkerStats::restarts},
  };
  for (const PerWorker& m : kPerWorker) {
    p.family(m.name, "counter", m.help);
    for (uint32_t w = 0; w < b.worker_num; ++w)
      p.sample(m.name, (stats.worker(static_cast<int>(w)).*m.field).get(), label("worker", w));
  }
  // The cluster (docs/cluster.md), only with a `cluster:` section.
  const ClusterStats& c = b.cluster;
  if (c.node_number.get() != 0) {
    p.one("cluster_node_number", "gauge", "This node's number in the cluster (the top 12 bits of its ids).",
          c.node_number.get());
    p.one("cluster_up", "gauge", "1 while both Redis links (publish and subscribe) are connected.", c.up.get());
    p.one("cluster_nodes", "gauge", "Live cluster nodes, this one included.", c.nodes.get());
    p.one("cluster_connections", "gauge", "Connections on all live nodes, as of the last heartbeat.",
          c.connections.get());
    p.one("cluster_messages_sent_total", "counter", "Messages PUBLISHed to other nodes.", c.sent.get());
    p.one("cluster_messages_received_total", "counter", "Messages from other nodes acted on.", c.received.get());
    p.one("cluster_send_failures_total", "counter",
          "Cross-node operations refused: the node is not live, Redis is down, a query timed out.",
          c.send_failures.get());
    p.one("cluster_dropped_total", "counter", "Malformed or foreign messages read on this node's channels.",
          c.dropped.get());
  }
  return p.take();
}

}  // namespace wsd::daemon
