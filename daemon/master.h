// The master process: binds the listeners, creates the session table and the
// channels, starts the workers and the reactor threads, accepts connections
// and spreads them over the reactors, and turns signals into actions.
#pragma once

#include <event2/event.h>
#include <sys/types.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "config/config.h"
#include "daemon/cluster_bridge.h"
#include "daemon/connection.h"
#include "daemon/reactor.h"
#include "daemon/routes.h"
#include "daemon/session_table.h"
#include "daemon/settings.h"
#include "daemon/stats.h"
#include "daemon/admin_server.h"
#include "ipc/channel.h"

namespace wsd::daemon {

struct LaunchInfo {
  std::string exe;                       // this executable, for starting workers
  std::string config_path;
  std::vector<std::string> overrides;    // --set values, passed on to workers
};

class Master {
 public:
  Master(const config::Config& config, LaunchInfo launch);
  ~Master();
  // Runs until stopped; returns the process exit code.
  int run();

 private:
  struct ListenSocket {
    int fd;
    uint16_t port;
    struct event* ev;
  };
  struct WorkerProcess {
    pid_t pid = -1;
    bool exited = false;
    std::chrono::steady_clock::time_point started;
    double backoff = 0;                  // seconds before the next respawn
    struct event* respawn_ev = nullptr;  // its argument is this struct
    Master* master = nullptr;
    int index = 0;
  };
  struct Control {                       // BASE mode: a worker's control channel
    std::unique_ptr<ipc::Channel> channel;
    struct event* ev = nullptr;
  };

  bool bind_listeners();
  bool start_process_mode();
  bool start_base_mode();
  bool spawn_worker(int w, const std::vector<std::string>& extra_args, const std::vector<int>& pass_fds);
  bool spawn_base_worker(int w);
  bool spawn_process_worker(int w);
  static bool make_channel_pair(int sv[2]);
  static std::string join_fds(const std::vector<int>& fds);
  static void on_control(evutil_socket_t fd, short, void* arg);
  void schedule_respawn(int w);
  static void on_respawn(evutil_socket_t, short, void* arg);
  static void on_accept(evutil_socket_t fd, short, void* arg);
  void log_accept_error(int error);   // at most once a second
  static void on_signal(evutil_socket_t sig, short, void* arg);
  static void on_startup_poll(evutil_socket_t, short, void* arg);
  void reap_children();
  void begin_stop();
  void begin_reload();
  // Replaces the workers in `order` one at a time (SIGHUP: all of them;
  // max_request: one), each without dropping a connection or a message.
  void begin_replace(std::vector<int> order, bool full_reload);
  void reload_step();
  // A worker process now serves slot w: its pid and where its counts start.
  void mark_worker_started(int w, pid_t pid, bool replacement);
  static void on_max_request_poll(evutil_socket_t, short, void* arg);
  std::string render_metrics() const;
  void reload_hand_over();
  void reload_failed(const std::string& why);
  void reload_close_successor_ends();
  static void on_reload_control(evutil_socket_t fd, short, void* arg);
  static void on_reload_timeout(evutil_socket_t, short, void* arg);
  std::string status_line() const;
  void start_status_timer();
  void finish_stop();

  const config::Config& config_;
  LaunchInfo launch_;
  Settings settings_;
  Routes routes_;
  SessionTable sessions_;
  SharedStats stats_;
  std::unique_ptr<AdminServer> admin_;
  std::unique_ptr<ClusterBridge> cluster_;   // PROCESS mode with a `cluster:` section
  struct event* max_request_ev_ = nullptr;
  Connection** by_slot_ = nullptr;   // map_slot_index (slot_index.h)
  size_t by_slot_slots_ = 0;
  std::vector<ListenSocket> listeners_;
  std::vector<std::unique_ptr<Reactor>> reactors_;
  std::vector<WorkerProcess> workers_;
  struct event_base* base_ = nullptr;
  std::vector<struct event*> signal_events_;
  struct event* startup_ev_ = nullptr;
  struct event* status_ev_ = nullptr;
  size_t next_reactor_ = 0;
  std::vector<std::vector<int>> base_listen_fds_;   // BASE: [worker][listener]
  std::vector<Control> controls_;
  int base_hellos_ = 0;
  // A rolling reload (SIGHUP, PROCESS mode): one worker at a time.
  struct Reload {
    bool active = false;
    bool full = false;            // SIGHUP (all workers, READY=1 at the end) or max_request
    std::vector<int> order;       // the workers to replace, in turn
    size_t next = 0;              // position in order
    int worker = 0;               // the worker being replaced now
    pid_t old_pid = -1;
    pid_t successor = -1;
    bool handed_over = false;
    std::vector<int> reactor_ends;
    Control control;              // the successor's Hello arrives here
    struct event* timeout_ev = nullptr;
  };
  Reload reload_;
  bool reload_pending_ = false;   // SIGHUP during a max_request replacement: a full reload follows
  std::chrono::steady_clock::time_point last_accept_error_{};
  bool ready_ = false;
  bool stopping_ = false;
  int exit_code_ = 0;
};

}  // namespace wsd::daemon
