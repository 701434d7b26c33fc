// A worker process in PROCESS mode: loads the plugins, runs a single-threaded
// libevent loop over its channels (one per reactor), calls the plugins'
// events, and sends their pushes and answers back, batched per iteration.
#pragma once

#include <event2/event.h>

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "cluster/wire.h"
#include "config/config.h"
#include "daemon/counters.h"
#include "daemon/plugin_host.h"
#include "daemon/reactor.h"
#include "daemon/request_codec.h"
#include "daemon/session_table.h"
#include "daemon/settings.h"
#include "ipc/channel.h"

struct wsd_response {
  wsd::daemon::HttpAnswer answer;
};

namespace wsd::daemon {

class Reactor;

// What the master hands a worker process (as command-line flags).
struct WorkerLaunch {
  int id = 0;
  int session_fd = -1;
  int stats_fd = -1;
  std::vector<int> channel_fds;                           // PROCESS: one per reactor
  int control_fd = -1;                                    // BASE: Hello to the master
  std::vector<std::pair<int, uint16_t>> listen_fds;       // BASE: socket and its port, per listener
};

class Worker : public LocalDelivery {
 public:
  Worker(const config::Config& config, const WorkerLaunch& launch);
  ~Worker();
  // Returns the exit code: 0 after a normal stop, 3 when plugins fail to load.
  int run();

  // The plugin API's implementation (plugin_api.cc) calls these.
  int id() const { return id_; }
  int worker_num() const { return settings_.worker_num; }
  const Settings& settings() const { return settings_; }
  SessionTable& sessions() { return sessions_; }
  WorkerCounters& counters() { return counters_; }
  // The shared stats; invalid when started without the master's.
  const SharedStats& stats() const { return stats_; }
  // The connection's WSD_STATUS_* as this worker's plugins must see it: a
  // custom handshake this worker accepted counts as established at once,
  // although the reactor has not read the 101 yet (see accepted_handshakes_).
  // 0xFF when the connection does not exist.
  uint8_t websocket_status(uint64_t conn);
  int send_to_reactor(uint64_t conn, ipc::MessageType type, uint16_t aux, std::string_view payload,
                      std::string_view payload2 = {});
  int send_to_own_reactor(uint64_t conn, ipc::MessageType type, uint16_t aux, std::string_view payload,
                          std::string_view payload2);
  // Publish (topic not empty) or broadcast: one message to every reactor
  // (PROCESS mode) or to this process's reactor (BASE mode).
  int fan_out(std::string_view topic, uint16_t aux, std::string_view data);
  // Cluster (worker_cluster.cc). This node's number (0: no cluster), as the
  // master announced it in the shared stats.
  uint16_t node() const {
    return stats_.valid() ? static_cast<uint16_t>(stats_.block().cluster.node_number.get()) : 0;
  }
  // An id held by another node: push, disconnect, close, exist and
  // is_established take the cluster path.
  bool remote(uint64_t conn) const {
    uint32_t n = node_of(conn);
    return n != 0 && n != node();
  }
  // A push or close for another node's connection, through reactor 0 and
  // the master's bridge. WSD_ERR_NO_CONNECTION at once when that node is not live.
  int cluster_send(cluster::WireType type, uint64_t conn, uint16_t aux, std::string_view data);
  // exist / is_established for another node's connection: a bounded
  // blocking wait (200 ms) for that node's answer; 0 when it does not come.
  int cluster_query(uint64_t conn, cluster::QueryKind kind);
  int defer(wsd_ctx* ctx, wsd_defer_fn fn, void* arg);
  uint64_t add_timer(wsd_ctx* ctx, uint64_t ms, bool repeat, wsd_timer_fn fn, void* arg);
  bool clear_timer(uint64_t timer_id);

 private:
  struct Link {
    std::unique_ptr<ipc::Channel> channel;
    struct event* ev = nullptr;
    bool open = true;
    bool want_write = false;
    uint64_t processed = 0;   // events finished since the last Processed report
  };
  struct Timer {
    Worker* worker;
    uint64_t id;
    wsd_ctx* ctx;
    wsd_timer_fn fn;
    void* arg;
    bool repeat;
    struct event* ev = nullptr;
    ~Timer() {
      if (ev) event_free(ev);
    }
  };
  struct Deferred {
    wsd_ctx* ctx;
    wsd_defer_fn fn;
    void* arg;
  };

  static void on_channel_event(evutil_socket_t fd, short what, void* arg);
  static void on_timer(evutil_socket_t, short, void* arg);
  void read_link(int r);
  void handle(int r, const ipc::MessageHeader& h, std::string_view payload);
  void deliver_message(wsd_ctx& ctx, const ipc::MessageHeader& h, std::string_view payload);
  void answer(int r, wsd_ctx& ctx, ipc::MessageType type, const ipc::MessageHeader& h, std::string_view payload);
  void after_iteration();
  bool base_mode() const { return reactor_ != nullptr; }
  bool start_base_reactor(const WorkerLaunch& launch);
  void send_hello();
  // LocalDelivery (BASE mode): an event from this process's reactor.
  void deliver(ipc::MessageType type, uint64_t conn, uint16_t aux, uint8_t plugin, std::string_view payload,
               std::string_view payload2) override;
  static void on_stop_signal(evutil_socket_t, short, void* arg);
  void run_deferred();
  void flush_links();
  bool all_links_closed() const;

  const config::Config& config_;
  const int id_;
  Settings settings_;
  SessionTable sessions_;
  std::vector<Link> links_;
  std::vector<std::unique_ptr<LoadedPlugin>> plugins_;
  struct event_base* base_ = nullptr;
  std::deque<Deferred> deferred_;
  std::map<uint64_t, std::unique_ptr<Timer>> timers_;
  uint64_t next_timer_id_ = 1;
  // Connections whose custom handshake a plugin here answered with 101 and
  // that the session table still shows in the handshake: the manual's
  // onHandShake defers its "open" push, which must not fail with
  // NOT_WEBSOCKET. The 101 and later commands travel on the same channel, so
  // the reactor sees them in order. Entries go on the close or disconnect
  // event, or once the table shows another status.
  std::unordered_set<uint64_t> accepted_handshakes_;
  RequestView request_view_;
  SharedStats stats_;
  WorkerCounters counters_;
  // BASE mode: this process's own reactor, and what it needs.
  WorkerLaunch launch_;
  std::unique_ptr<Routes> routes_;
  Connection** by_slot_ = nullptr;   // map_slot_index (slot_index.h)
  size_t by_slot_slots_ = 0;
  std::unique_ptr<Reactor> reactor_;
  std::unique_ptr<ipc::Channel> control_;
  struct event* stop_ev_ = nullptr;
  struct event* reload_ev_ = nullptr;
  bool not_supported_logged_ = false;
  uint32_t query_seq_ = 0;
  std::string scratch_;
};

// The function table handed to plugins (plugin_api.cc).
const wsd_api* plugin_api();

}  // namespace wsd::daemon
