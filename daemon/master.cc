#include "daemon/master.h"
#include "daemon/listen_socket.h"

#include "config/loader.h"
#include "daemon/logging.h"
#include "daemon/metrics.h"
#include "daemon/process_setup.h"
#include "daemon/slot_index.h"
#include "systemd/notify.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <spawn.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <chrono>

extern char** environ;

namespace wsd::daemon {


Master::Master(const config::Config& config, LaunchInfo launch)
    : config_(config), launch_(std::move(launch)), settings_(make_settings(config)), routes_(config.plugins) {}

Master::~Master() {
  reactors_.clear();
  cluster_.reset();   // its events live on base_; reactors used it
  for (Control& c : controls_) {
    if (c.ev) event_free(c.ev);
  }
  for (WorkerProcess& wp : workers_) {
    if (wp.respawn_ev) event_free(wp.respawn_ev);
  }
  for (size_t w = 1; w < base_listen_fds_.size(); ++w) {
    for (int fd : base_listen_fds_[w]) close(fd);
  }
  for (ListenSocket& l : listeners_) {
    if (l.ev) event_free(l.ev);
    close(l.fd);
  }
  for (struct event* e : signal_events_) event_free(e);
  if (startup_ev_) event_free(startup_ev_);
  if (status_ev_) event_free(status_ev_);
  if (max_request_ev_) event_free(max_request_ev_);
  admin_.reset();   // its events live on base_
  reload_close_successor_ends();
  if (reload_.timeout_ev) event_free(reload_.timeout_ev);
  if (base_) event_base_free(base_);
  unmap_slot_index(by_slot_, by_slot_slots_);
}

bool Master::bind_listeners() {
  for (const config::Listener& l : config_.listeners) {
    std::string error;
    int fd = make_listener(l.host, l.port, config_.mode == config::Mode::Base, error);
    if (fd < 0) {
      spdlog::critical("cannot listen on {}:{}: {}", l.host, l.port, error);
      return false;
    }
    uint16_t port = bound_port(fd);
    listeners_.push_back({fd, port, nullptr});
    // Tests and operators read the real port from this line (port 0 = ephemeral).
    spdlog::info("listening on {}:{}", l.host, port);
  }
  return true;
}

// Workers are started with posix_spawn of this same executable: a fresh
// process image (the master has threads; a bare fork would copy their locks)
// that loads the plugins from disk itself.
bool Master::spawn_worker(int w, const std::vector<std::string>& extra_args, const std::vector<int>& pass_fds) {
  std::vector<std::string> args = {launch_.exe, "--config", launch_.config_path, "--worker", std::to_string(w),
                                   "--session-fd", std::to_string(sessions_.fd()), "--stats-fd",
                                   std::to_string(stats_.fd())};
  args.insert(args.end(), extra_args.begin(), extra_args.end());
  for (const std::string& o : launch_.overrides) {
    args.push_back("--set");
    args.push_back(o);
  }
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  // dup2 onto itself clears close-on-exec (glibc >= 2.29): only these fds pass.
  for (int fd : pass_fds) posix_spawn_file_actions_adddup2(&actions, fd, fd);
  posix_spawn_file_actions_adddup2(&actions, sessions_.fd(), sessions_.fd());
  posix_spawn_file_actions_adddup2(&actions, stats_.fd(), stats_.fd());
  pid_t pid = -1;
  // Only the master talks to systemd (NotifyAccess=main): workers get no NOTIFY_SOCKET.
  std::vector<char*> env;
  for (char** e = environ; *e; ++e) {
    if (std::strncmp(*e, "NOTIFY_SOCKET=", 14) != 0 && std::strncmp(*e, "WATCHDOG_", 9) != 0) env.push_back(*e);
  }
  env.push_back(nullptr);
  int rc = posix_spawn(&pid, launch_.exe.c_str(), &actions, nullptr, argv.data(), env.data());
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) {
    spdlog::critical("cannot start worker {}: {}", w, std::strerror(rc));
    return false;
  }
  workers_[w].pid = pid;
  workers_[w].exited = false;
  workers_[w].started = std::chrono::steady_clock::now();
  spdlog::debug("worker {} started, pid {}", w, pid);
  return true;
}

void Master::mark_worker_started(int w, pid_t pid, bool replacement) {
  WorkerStats& ws = stats_.worker(w);
  ws.pid.store(static_cast<int32_t>(pid), std::memory_order_relaxed);
  ws.events_at_start.set(ws.events.get());
  ws.messages_at_start.set(ws.messages.get());
  if (replacement) ws.restarts.add();
}

std::string Master::join_fds(const std::vector<int>& fds) {
  std::string out;
  for (int fd : fds) out += (out.empty() ? "" : ",") + std::to_string(fd);
  return out;
}

int Master::run() {
  signal(SIGPIPE, SIG_IGN);
  if (config_.cluster.enabled && config_.mode == config::Mode::Base) {
    // BASE mode reaches only a worker's own connections; a cluster needs the
    // master's routing (docs/cluster.md).
    spdlog::critical("cluster: needs mode: process (BASE mode cannot route pushes between processes); "
                     "remove the cluster section or set mode: process");
    return 1;
  }
  // Certificates and keys are checked before anything is bound.
  std::string error;
  if (!load_listeners(settings_, config_, error)) {
    spdlog::critical("{}", error);
    return 1;
  }
  // One descriptor per connection (in BASE mode any one worker may hold
  // them all), raised while still root; workers inherit the limit.
  uint64_t wanted_fds = static_cast<uint64_t>(config_.max_connection) + kFdReserve;
  uint64_t fds = raise_fd_limit(wanted_fds);
  if (fds != 0 && fds < wanted_fds) {
    uint64_t fit = fds > kFdReserve ? fds - kFdReserve : 0;
    if (config_.mode == config::Mode::Base && config_.worker_num > 1) {
      // The limit is per process, and each BASE worker holds its own
      // clients: the server as a whole fits worker_num times as many, as far
      // as SO_REUSEPORT's hash spreads them evenly (it ignores how full a
      // worker is).
      spdlog::warn("max_connection is {} but the open-file limit is {}: about {} connections fit per worker, "
                   "{} over the {} workers if evenly spread; beyond that a worker closes new connections at once "
                   "(raise LimitNOFILE or ulimit -n to {})",
                   config_.max_connection, fds, fit, fit * static_cast<uint64_t>(config_.worker_num),
                   config_.worker_num, wanted_fds);
    } else {
      spdlog::warn("max_connection is {} but the open-file limit is {}: about {} connections fit, beyond that "
                   "new connections are closed at once (raise LimitNOFILE or ulimit -n to {})",
                   config_.max_connection, fds, fit, wanted_fds);
    }
  }
  if (!bind_listeners()) return 1;
  base_ = event_base_new();
  if (config_.admin_port >= 0) {
    admin_ = AdminServer::open(base_, config_.admin_host, static_cast<uint16_t>(config_.admin_port),
                               [this] { return render_metrics(); }, error);
    if (!admin_) {
      spdlog::critical("cannot listen on {}:{} (admin_port): {}", config_.admin_host, config_.admin_port, error);
      return 1;
    }
    // Tests and operators read the real port from this line (admin_port 0 = ephemeral).
    spdlog::info("admin listener on {}:{} (GET /metrics)", config_.admin_host, admin_->port());
  }
  // The pid file is written while still root (it usually lives in /run) and
  // removed however run() returns.
  struct PidFile {
    std::string path;
    ~PidFile() { if (!path.empty()) remove_pid_file(path); }
  } pid_file;
  if (!config_.pid_file.empty()) {
    if (!write_pid_file(config_.pid_file, error)) {
      spdlog::critical("{}", error);
      return 1;
    }
    pid_file.path = config_.pid_file;
  }
  // Root is only needed for the listening sockets: drop it before any
  // worker exists.
  if (!drop_privileges(config_.user, config_.group, {config_.log_file}, error)) {
    spdlog::critical("cannot switch to user/group: {}", error);
    return 1;
  }
  // BASE mode: each worker allocates from its own contiguous share of the
  // table, and any one of them may hold up to max_connection; the limit
  // itself is checked against the live count of all.
  uint64_t shares = config_.mode == config::Mode::Base ? static_cast<uint64_t>(config_.worker_num) : 1;
  auto capacity = static_cast<uint32_t>(
      std::min<uint64_t>((static_cast<uint64_t>(config_.max_connection) + 1) * shares + shares, kSlotMask));
  sessions_ = SessionTable::create(capacity, static_cast<uint32_t>(shares),
                                  config_.cluster.enabled ? static_cast<uint32_t>(config_.cluster.node_number) : 0);
  bool base = config_.mode == config::Mode::Base;
  stats_ = SharedStats::create(static_cast<uint32_t>(config_.worker_num),
                               static_cast<uint32_t>(base ? config_.worker_num : config_.reactor_num));
  if (config_.cluster.enabled)
    cluster_ = std::make_unique<ClusterBridge>(base_, config_.cluster, settings_.package_max_length, sessions_, stats_);
  if (base && config_.max_request > 0)
    spdlog::warn("max_request is ignored in BASE mode: replacing a worker would close its connections");
  workers_.resize(config_.worker_num);   // never resized again: respawn timers point into it
  for (int w = 0; w < config_.worker_num; ++w) {
    workers_[w].master = this;
    workers_[w].index = w;
  }
  // Signals are caught from before the first worker exists: a worker that
  // fails to load its plugins can exit before the reactors are up, and a
  // SIGCHLD arriving with no handler is discarded (the master would then
  // wait for its hello forever).
  for (int sig : {SIGTERM, SIGINT, SIGCHLD, SIGHUP, SIGUSR1}) {
    struct event* e = evsignal_new(base_, sig, &Master::on_signal, this);
    event_add(e, nullptr);
    signal_events_.push_back(e);
  }
  bool started = config_.mode == config::Mode::Base ? start_base_mode() : start_process_mode();
  if (!started) return 1;
  // Accepting (PROCESS) and READY wait until every worker has loaded its
  // plugins and said hello.
  startup_ev_ = event_new(base_, -1, EV_PERSIST, &Master::on_startup_poll, this);
  timeval every{0, 10 * 1000};
  event_add(startup_ev_, &every);

  event_base_dispatch(base_);
  finish_stop();
  return exit_code_;
}

bool Master::start_process_mode() {
  by_slot_slots_ = sessions_.capacity();
  by_slot_ = map_slot_index(by_slot_slots_);
  const int nw = config_.worker_num;
  const int nr = config_.reactor_num;
  // reactor_ends[r][w]: the reactor's end; worker_ends[w][r]: the worker's end.
  std::vector<std::vector<int>> reactor_ends(nr, std::vector<int>(nw));
  std::vector<std::vector<int>> worker_ends(nw, std::vector<int>(nr));
  for (int r = 0; r < nr; ++r) {
    for (int w = 0; w < nw; ++w) {
      int sv[2];
      if (!make_channel_pair(sv)) return false;
      reactor_ends[r][w] = sv[0];
      worker_ends[w][r] = sv[1];
    }
  }
  for (int w = 0; w < nw; ++w) {
    if (!spawn_worker(w, {"--worker-fds", join_fds(worker_ends[w])}, worker_ends[w])) return false;
    mark_worker_started(w, workers_[w].pid, false);
    for (int fd : worker_ends[w]) close(fd);
  }
  for (int r = 0; r < nr; ++r) {
    reactors_.push_back(std::make_unique<Reactor>(r, settings_, sessions_, routes_, by_slot_, reactor_ends[r]));
    reactors_.back()->set_stats(&stats_.reactor(r));
    reactors_.back()->set_cluster(cluster_.get());
    reactors_.back()->start();
  }
  if (cluster_) {
    std::vector<Reactor*> rs;
    for (auto& r : reactors_) rs.push_back(r.get());
    cluster_->start(std::move(rs));
  }
  for (ListenSocket& l : listeners_) l.ev = event_new(base_, l.fd, EV_READ | EV_PERSIST, &Master::on_accept, this);
  return true;
}

// PROCESS mode: a successor for worker w, with a new channel to every
// reactor. Client connections stay open; the reactors hand it the events the
// dead worker had not received yet.
bool Master::spawn_process_worker(int w) {
  const int nr = static_cast<int>(reactors_.size());
  std::vector<int> reactor_ends(nr), worker_ends(nr);
  for (int r = 0; r < nr; ++r) {
    int sv[2];
    if (!make_channel_pair(sv)) return false;
    reactor_ends[r] = sv[0];
    worker_ends[r] = sv[1];
  }
  bool ok = spawn_worker(w, {"--worker-fds", join_fds(worker_ends)}, worker_ends);
  if (ok) mark_worker_started(w, workers_[w].pid, true);
  for (int fd : worker_ends) close(fd);
  for (int r = 0; r < nr; ++r) {
    if (ok) {
      reactors_[r]->adopt_worker(w, reactor_ends[r]);
    } else {
      close(reactor_ends[r]);
    }
  }
  return ok;
}

bool Master::make_channel_pair(int sv[2]) {
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) != 0) {
    spdlog::critical("socketpair: {}", std::strerror(errno));
    return false;
  }
  int buf = 4 * 1024 * 1024;
  setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &buf, sizeof buf);
  setsockopt(sv[1], SOL_SOCKET, SO_SNDBUF, &buf, sizeof buf);
  return true;
}

// BASE mode: no reactors here. Each worker gets its own SO_REUSEPORT socket
// per listener (worker 0 the one bound first) and does all I/O itself; the
// master keeps the sockets so that a respawned worker gets them back.
bool Master::start_base_mode() {
  const int nw = config_.worker_num;
  base_listen_fds_.assign(nw, {});
  for (size_t i = 0; i < listeners_.size(); ++i) {
    const config::Listener& conf = config_.listeners[i];
    base_listen_fds_[0].push_back(listeners_[i].fd);
    for (int w = 1; w < nw; ++w) {
      std::string error;
      int fd = make_listener(conf.host, listeners_[i].port, true, error);
      if (fd < 0) {
        spdlog::critical("cannot listen on {}:{}: {}", conf.host, listeners_[i].port, error);
        return false;
      }
      base_listen_fds_[w].push_back(fd);
    }
  }
  controls_.resize(nw);
  for (int w = 0; w < nw; ++w) {
    if (!spawn_base_worker(w)) return false;
  }
  return true;
}

bool Master::spawn_base_worker(int w) {
  int sv[2];
  if (!make_channel_pair(sv)) return false;
  Control& ctl = controls_[w];
  if (ctl.ev) event_free(ctl.ev);
  ctl.channel = std::make_unique<ipc::Channel>(sv[0], 64 * 1024);
  ctl.ev = event_new(base_, sv[0], EV_READ | EV_PERSIST, &Master::on_control, this);
  event_add(ctl.ev, nullptr);
  std::string listen;
  for (size_t i = 0; i < listeners_.size(); ++i) {
    listen += (listen.empty() ? "" : ",") + std::to_string(base_listen_fds_[w][i]) + ":" +
              std::to_string(listeners_[i].port);
  }
  std::vector<int> pass = base_listen_fds_[w];
  pass.push_back(sv[1]);
  bool replacement = workers_[w].pid > 0;
  bool ok = spawn_worker(w, {"--control-fd", std::to_string(sv[1]), "--listen-fds", listen}, pass);
  if (ok) mark_worker_started(w, workers_[w].pid, replacement);
  close(sv[1]);
  return ok;
}

// BASE mode: a worker's Hello on its control channel.
void Master::on_control(evutil_socket_t fd, short, void* arg) {
  auto* self = static_cast<Master*>(arg);
  for (Control& ctl : self->controls_) {
    if (!ctl.channel || ctl.channel->fd() != fd) continue;
    ipc::Channel::IoResult r = ctl.channel->read_messages([&](const ipc::MessageHeader& h, std::string_view) {
      if (h.type == ipc::MessageType::Hello) self->base_hellos_++;
    });
    if (r == ipc::Channel::IoResult::Closed || r == ipc::Channel::IoResult::Error) event_del(ctl.ev);
    return;
  }
}

void Master::on_startup_poll(evutil_socket_t, short, void* arg) {
  auto* self = static_cast<Master*>(arg);
  int hellos = self->base_hellos_;
  for (auto& r : self->reactors_) hellos = std::max(hellos, r->hellos());
  if (hellos < self->config_.worker_num) return;
  event_del(self->startup_ev_);
  for (ListenSocket& l : self->listeners_) {
    if (l.ev) event_add(l.ev, nullptr);
  }
  self->ready_ = true;
  bool base = self->config_.mode == config::Mode::Base;
  spdlog::info("wsd ready: {} mode, {} worker(s), {} reactor(s), pid {}", base ? "BASE" : "PROCESS",
               self->config_.worker_num, base ? 0 : self->config_.reactor_num, getpid());
  // systemd (Type=notify): every listener is bound and every worker has its plugins.
  systemd::notify_ready(self->status_line());
  self->start_status_timer();
  if (self->config_.max_request > 0 && !base) {
    self->max_request_ev_ = event_new(self->base_, -1, EV_PERSIST, &Master::on_max_request_poll, self);
    timeval every{0, 100 * 1000};
    event_add(self->max_request_ev_, &every);
  }
}

void Master::on_accept(evutil_socket_t fd, short, void* arg) {
  auto* self = static_cast<Master*>(arg);
  uint16_t port = 0;
  uint8_t listener = 0;
  for (size_t i = 0; i < self->listeners_.size(); ++i) {
    if (self->listeners_[i].fd != fd) continue;
    port = self->listeners_[i].port;
    listener = static_cast<uint8_t>(i);
  }
  for (int i = 0; i < 64; ++i) {
    Accepted a{};
    int cfd = accept_client(fd, &a.peer);
    if (cfd < 0) {
      if (errno != EAGAIN && errno != EWOULDBLOCK) self->log_accept_error(errno);
      return;
    }
    int one = 1;
    setsockopt(cfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    a.fd = cfd;
    a.server_port = port;
    a.listener = listener;
    // Round robin: connections spread evenly over the reactors.
    self->reactors_[self->next_reactor_++ % self->reactors_.size()]->adopt(a);
  }
}

void Master::log_accept_error(int error) {
  auto t = std::chrono::steady_clock::now();
  if (t - last_accept_error_ < std::chrono::seconds(1)) return;
  last_accept_error_ = t;
  if (error == EMFILE || error == ENFILE) {
    spdlog::error("accept: out of file descriptors: new connections are closed at once; raise LimitNOFILE "
                  "(systemd) or ulimit -n, or lower max_connection");
  } else {
    spdlog::warn("accept: {}", std::strerror(error));
  }
}

void Master::on_signal(evutil_socket_t sig, short, void* arg) {
  auto* self = static_cast<Master*>(arg);
  switch (sig) {
    case SIGTERM:
    case SIGINT:
      spdlog::info("signal {}: stopping", sig == SIGTERM ? "SIGTERM" : "SIGINT");
      self->begin_stop();
      break;
    case SIGCHLD:
      self->reap_children();
      break;
    case SIGHUP:
      // Certificates are re-read without dropping a connection; BASE workers
      // hold their own TLS contexts and re-read theirs.
      spdlog::info("signal SIGHUP: reloading certificates");
      systemd::notify_reloading();
      reload_certificates(self->settings_);
      if (self->config_.mode == config::Mode::Base) {
        for (WorkerProcess& wp : self->workers_) {
          if (wp.pid > 0 && !wp.exited) kill(wp.pid, SIGHUP);
        }
      }
      if (self->config_.mode == config::Mode::Process) {
        self->begin_reload();  // READY=1 follows when the last worker is replaced
      } else {
        systemd::notify_ready(self->status_line());
      }
      break;
    case SIGUSR1:
      // logrotate: reopen our log file and have every worker reopen its own.
      spdlog::info("signal SIGUSR1: reopening log files");
      reopen_logs();
      for (WorkerProcess& wp : self->workers_) {
        if (wp.pid > 0 && !wp.exited) kill(wp.pid, SIGUSR1);
      }
      if (self->reload_.active && self->reload_.successor > 0 &&
          self->reload_.successor != self->workers_[self->reload_.worker].pid) {
        kill(self->reload_.successor, SIGUSR1);   // a successor still starting
      }
      break;
    default:
      spdlog::info("signal {} ignored", static_cast<int>(sig));
      break;
  }
}

void Master::reap_children() {
  int status = 0;
  pid_t pid;
  while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
    if (reload_.active && pid == reload_.successor && !reload_.handed_over) {
      reload_failed("its successor exited before loading its plugins (status " + std::to_string(status) + ")");
      continue;
    }
    if (reload_.active && pid == reload_.old_pid && reload_.handed_over) {
      spdlog::info("reload: worker {} handed over (old pid {} exited)", reload_.worker, pid);
      reload_.next++;
      reload_step();
      continue;
    }
    for (size_t w = 0; w < workers_.size(); ++w) {
      if (workers_[w].pid != pid) continue;
      workers_[w].exited = true;
      if (WIFSIGNALED(status)) {
        spdlog::error("worker {} (pid {}) killed by signal {}", w, pid, WTERMSIG(status));
      } else if (!stopping_) {
        spdlog::error("worker {} (pid {}) exited with status {}", w, pid, WEXITSTATUS(status));
      }
      if (!ready_ && !stopping_) {
        // A worker that cannot load its plugins stops the start.
        spdlog::critical("worker {} failed to start (its reason is logged above); wsd does not start", w);
        exit_code_ = 1;
        begin_stop();
      } else if (!stopping_) {
        schedule_respawn(static_cast<int>(w));
      }
    }
  }
}

std::string Master::render_metrics() const {
  MasterView view;
  view.connections = sessions_.live();
  for (const WorkerProcess& wp : workers_) view.workers_alive += wp.pid > 0 && !wp.exited;
  view.reloading = reload_.active;
  return daemon::render_metrics(stats_, view);
}

std::string Master::status_line() const {
  int alive = 0;
  for (const WorkerProcess& wp : workers_) alive += wp.pid > 0 && !wp.exited;
  return std::to_string(sessions_.live()) + " connection(s), " + std::to_string(alive) + "/" +
         std::to_string(workers_.size()) + " worker(s)";
}

// STATUS= every few seconds, and the watchdog ping at half of WatchdogSec.
void Master::start_status_timer() {
  uint64_t watchdog = systemd::watchdog_interval_usec();
  double period = watchdog ? std::min(5.0, static_cast<double>(watchdog) / 2e6) : 5.0;
  status_ev_ = event_new(base_, -1, EV_PERSIST, [](evutil_socket_t, short, void* arg) {
    auto* self = static_cast<Master*>(arg);
    systemd::notify_status(self->status_line());
    systemd::notify_watchdog();
  }, this);
  timeval tv{static_cast<time_t>(period), static_cast<suseconds_t>((period - static_cast<long>(period)) * 1e6)};
  event_add(status_ev_, &tv);
}

// BASE mode: a crashed worker comes back (its connections are lost: that is
// the price of BASE mode). One that dies young waits a little, doubling up
// to worker_respawn_max_delay, so a plugin crashing at start cannot spin.
void Master::schedule_respawn(int w) {
  WorkerProcess& wp = workers_[w];
  auto lived = std::chrono::steady_clock::now() - wp.started;
  wp.backoff = lived < std::chrono::seconds(1)
                   ? std::min(std::max(wp.backoff * 2, 0.1), config_.worker_respawn_max_delay)
                   : 0.0;
  if (!wp.respawn_ev) wp.respawn_ev = event_new(base_, -1, 0, &Master::on_respawn, &wp);
  timeval tv{static_cast<time_t>(wp.backoff), static_cast<suseconds_t>((wp.backoff - static_cast<long>(wp.backoff)) * 1e6)};
  event_add(wp.respawn_ev, &tv);
}

void Master::on_respawn(evutil_socket_t, short, void* arg) {
  auto* wp = static_cast<WorkerProcess*>(arg);
  Master* self = wp->master;
  const int w = wp->index;
  if (self->stopping_ || !wp->exited) return;
  spdlog::info("respawning worker {}", w);
  if (self->config_.mode == config::Mode::Base) {
    self->spawn_base_worker(w);
  } else {
    self->spawn_process_worker(w);
  }
}

// SIGHUP in PROCESS mode: a successor per worker, one at a time, started
// from the config file as it is now and the plugin files on disk; the old
// worker is replaced only once its successor has loaded its plugins, and
// hands over without closing a client or losing a message (see
// Reactor::retire_worker). A config or plugin that fails keeps the workers
// that run.
void Master::begin_reload() {
  if (reload_.active) {
    if (reload_.full) {
      spdlog::warn("reload already in progress");
    } else {
      reload_pending_ = true;   // after the max_request replacement under way
    }
    return;
  }
  config::LoadResult next = config::load_config_file(launch_.config_path, launch_.overrides);
  if (!next.ok) {
    for (const std::string& e : next.errors) spdlog::error("reload refused: {}", e);
    systemd::notify_ready(status_line());
    return;
  }
  const config::Config& n = next.config;
  if (n.worker_num != config_.worker_num || n.reactor_num != config_.reactor_num || n.mode != config_.mode ||
      n.listeners.size() != config_.listeners.size() || n.package_max_length != config_.package_max_length) {
    spdlog::warn("reload: mode, worker_num, reactor_num, listeners and package_max_length change only with a "
                 "restart; the running values stay");
  }
  std::vector<int> all(workers_.size());
  for (size_t w = 0; w < all.size(); ++w) all[w] = static_cast<int>(w);
  spdlog::info("reload: replacing {} worker(s), one at a time", workers_.size());
  begin_replace(std::move(all), true);
}

void Master::begin_replace(std::vector<int> order, bool full_reload) {
  struct event* timeout_ev = reload_.timeout_ev;  // reused across reloads
  reload_ = Reload{};
  reload_.timeout_ev = timeout_ev;
  reload_.active = true;
  reload_.full = full_reload;
  reload_.order = std::move(order);
  reload_.next = 0;
  reload_step();
}

// max_request: a worker that has handled that many messages since it took
// over is replaced like a reload replaces it. Polled from the shared stats
// (the worker does not need a channel to the master for it).
void Master::on_max_request_poll(evutil_socket_t, short, void* arg) {
  auto* self = static_cast<Master*>(arg);
  if (self->reload_.active || self->stopping_ || !self->ready_) return;
  for (size_t w = 0; w < self->workers_.size(); ++w) {
    const WorkerStats& ws = self->stats_.worker(static_cast<int>(w));
    uint64_t handled = ws.messages.get() - ws.messages_at_start.get();
    if (handled < self->config_.max_request || self->workers_[w].exited) continue;
    spdlog::info("worker {} handled {} message(s) (max_request {}): replacing it", w, handled,
                 self->config_.max_request);
    self->begin_replace({static_cast<int>(w)}, false);
    return;
  }
}

void Master::reload_step() {
  reload_close_successor_ends();
  if (stopping_) {
    reload_.active = false;
    return;
  }
  if (reload_.next >= reload_.order.size()) {
    reload_.active = false;
    if (reload_.full) {
      spdlog::info("reload complete");
      systemd::notify_ready(status_line());
    }
    if (reload_pending_) {
      reload_pending_ = false;
      begin_reload();
    }
    return;
  }
  const int w = reload_.order[reload_.next];
  reload_.worker = w;
  const int nr = static_cast<int>(reactors_.size());
  std::vector<int> worker_ends(nr);
  reload_.reactor_ends.assign(nr, -1);
  for (int r = 0; r < nr; ++r) {
    int sv[2];
    if (!make_channel_pair(sv)) return reload_failed("socketpair failed");
    reload_.reactor_ends[r] = sv[0];
    worker_ends[r] = sv[1];
  }
  int ctl[2];
  if (!make_channel_pair(ctl)) return reload_failed("socketpair failed");
  reload_.control.channel = std::make_unique<ipc::Channel>(ctl[0], 64 * 1024);
  reload_.control.ev = event_new(base_, ctl[0], EV_READ | EV_PERSIST, &Master::on_reload_control, this);
  event_add(reload_.control.ev, nullptr);
  reload_.old_pid = workers_[w].pid;
  reload_.handed_over = false;
  std::vector<int> pass = worker_ends;
  pass.push_back(ctl[1]);
  bool ok = spawn_worker(w, {"--worker-fds", join_fds(worker_ends), "--control-fd", std::to_string(ctl[1])}, pass);
  for (int fd : pass) close(fd);
  reload_.successor = workers_[w].pid;
  workers_[w].pid = reload_.old_pid;  // the old one serves until the hand-over
  workers_[w].exited = false;
  if (!ok) return reload_failed("cannot start a successor");
}

void Master::on_reload_control(evutil_socket_t, short, void* arg) {
  auto* self = static_cast<Master*>(arg);
  Reload& rl = self->reload_;
  if (!rl.control.channel) return;
  bool hello = false;
  ipc::Channel::IoResult r = rl.control.channel->read_messages([&](const ipc::MessageHeader& h, std::string_view p) {
    if (h.type != ipc::MessageType::Hello) return;
    hello = true;
    for (size_t i = 0; i < p.size() && i < self->routes_.plugin_count(); ++i)
      self->routes_.set_capabilities(static_cast<int>(i), static_cast<uint8_t>(p[i]));
  });
  if (hello && !rl.handed_over) self->reload_hand_over();
  if (r == ipc::Channel::IoResult::Closed || r == ipc::Channel::IoResult::Error) event_del(rl.control.ev);
}

// The successor has its plugins: the reactors switch to it in order, and the
// old worker exits once it has finished what it holds.
void Master::reload_hand_over() {
  const int w = reload_.worker;
  reload_.handed_over = true;
  for (size_t r = 0; r < reactors_.size(); ++r) {
    reactors_[r]->retire_worker(w, reload_.reactor_ends[r]);
    reload_.reactor_ends[r] = -1;  // the reactor owns it now
  }
  workers_[w].pid = reload_.successor;
  workers_[w].started = std::chrono::steady_clock::now();
  mark_worker_started(w, reload_.successor, true);
  // A worker stuck in a plugin does not hold the reload forever.
  if (!reload_.timeout_ev) reload_.timeout_ev = event_new(base_, -1, 0, &Master::on_reload_timeout, this);
  double t = config_.reload_timeout;
  timeval tv{static_cast<time_t>(t), static_cast<suseconds_t>((t - static_cast<long>(t)) * 1e6)};
  event_add(reload_.timeout_ev, &tv);
}

void Master::on_reload_timeout(evutil_socket_t, short, void* arg) {
  auto* self = static_cast<Master*>(arg);
  if (!self->reload_.active || !self->reload_.handed_over) return;
  spdlog::warn("reload: worker {} (pid {}) did not finish within reload_timeout; killing it", self->reload_.worker,
               self->reload_.old_pid);
  kill(self->reload_.old_pid, SIGKILL);
}

void Master::reload_failed(const std::string& why) {
  spdlog::error("reload stopped at worker {}: {}; the running workers stay", reload_.worker, why);
  if (reload_.successor > 0 && !reload_.handed_over) kill(reload_.successor, SIGKILL);
  reload_close_successor_ends();
  reload_.active = false;
  if (reload_.full) systemd::notify_ready(status_line());
}

void Master::reload_close_successor_ends() {
  for (int& fd : reload_.reactor_ends) {
    if (fd >= 0) close(fd);
    fd = -1;
  }
  if (reload_.timeout_ev) event_del(reload_.timeout_ev);
  if (reload_.control.ev) {
    event_free(reload_.control.ev);
    reload_.control.ev = nullptr;
  }
  reload_.control.channel.reset();
}

void Master::begin_stop() {
  if (stopping_) return;
  stopping_ = true;
  systemd::notify_stopping();
  for (ListenSocket& l : listeners_) {
    if (l.ev) event_del(l.ev);
  }
  event_base_loopbreak(base_);
}

// Reactors close every client (1001) and wait for their closes; then their
// channels close, which tells each worker to run its stop events and exit.
void Master::finish_stop() {
  // BASE mode: each worker closes its own clients (1001) on SIGTERM.
  for (WorkerProcess& wp : workers_) {
    if (config_.mode == config::Mode::Base && wp.pid > 0 && !wp.exited) kill(wp.pid, SIGTERM);
  }
  for (auto& r : reactors_) r->request_stop();
  for (auto& r : reactors_) r->join();
  reactors_.clear();
  for (size_t w = 0; w < workers_.size(); ++w) {
    if (workers_[w].pid <= 0 || workers_[w].exited) continue;
    int status = 0;
    // Bounded wait: a worker stuck in a plugin is killed.
    int rounds = static_cast<int>((settings_.close_timeout + 5) * 100);
    for (int i = 0; i < rounds; ++i) {
      if (waitpid(workers_[w].pid, &status, WNOHANG) == workers_[w].pid) {
        workers_[w].exited = true;
        break;
      }
      usleep(10 * 1000);
    }
    if (!workers_[w].exited) {
      spdlog::warn("worker {} did not stop in time; killing it", w);
      kill(workers_[w].pid, SIGKILL);
      waitpid(workers_[w].pid, &status, 0);
    }
  }
  spdlog::info("wsd stopped");
}

}  // namespace wsd::daemon
