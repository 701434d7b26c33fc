#include "daemon/master.h"

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

extern char** environ;

namespace wsd::daemon {

namespace {
constexpr int kListenBacklog = 4096;

int make_listener(const std::string& host, uint16_t port, std::string& error) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* res = nullptr;
  std::string service = std::to_string(port);
  int rc = getaddrinfo(host.c_str(), service.c_str(), &hints, &res);
  if (rc != 0) {
    error = gai_strerror(rc);
    return -1;
  }
  int fd = socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (bind(fd, res->ai_addr, res->ai_addrlen) != 0 || listen(fd, kListenBacklog) != 0) {
    error = std::strerror(errno);
    close(fd);
    freeaddrinfo(res);
    return -1;
  }
  freeaddrinfo(res);
  return fd;
}

uint16_t bound_port(int fd) {
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len);
  if (ss.ss_family == AF_INET) return ntohs(reinterpret_cast<sockaddr_in*>(&ss)->sin_port);
  return ntohs(reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port);
}
}  // namespace

Master::Master(const config::Config& config, LaunchInfo launch)
    : config_(config), launch_(std::move(launch)), settings_(make_settings(config)), routes_(config.plugins) {}

Master::~Master() {
  reactors_.clear();
  for (ListenSocket& l : listeners_) {
    if (l.ev) event_free(l.ev);
    close(l.fd);
  }
  for (struct event* e : signal_events_) event_free(e);
  if (startup_ev_) event_free(startup_ev_);
  if (base_) event_base_free(base_);
  std::free(by_slot_);
}

bool Master::bind_listeners() {
  for (const config::Listener& l : config_.listeners) {
    std::string error;
    int fd = make_listener(l.host, l.port, error);
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
bool Master::spawn_worker(int w, const std::vector<int>& worker_ends) {
  std::string fds;
  for (int fd : worker_ends) fds += (fds.empty() ? "" : ",") + std::to_string(fd);
  std::vector<std::string> args = {launch_.exe, "--config", launch_.config_path, "--worker", std::to_string(w),
                                   "--worker-fds", fds, "--session-fd", std::to_string(sessions_.fd())};
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
  for (int fd : worker_ends) posix_spawn_file_actions_adddup2(&actions, fd, fd);
  posix_spawn_file_actions_adddup2(&actions, sessions_.fd(), sessions_.fd());
  pid_t pid = -1;
  int rc = posix_spawn(&pid, launch_.exe.c_str(), &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) {
    spdlog::critical("cannot start worker {}: {}", w, std::strerror(rc));
    return false;
  }
  workers_[w].pid = pid;
  spdlog::debug("worker {} started, pid {}", w, pid);
  return true;
}

int Master::run() {
  signal(SIGPIPE, SIG_IGN);
  if (!bind_listeners()) return 1;
  uint32_t capacity = static_cast<uint32_t>(config_.max_connection) + 1;
  sessions_ = SessionTable::create(capacity);
  // calloc of a large block maps fresh zero pages: only slots in use cost memory.
  by_slot_ = static_cast<Connection**>(std::calloc(capacity, sizeof(Connection*)));

  const int nw = config_.worker_num;
  const int nr = config_.reactor_num;
  workers_.resize(nw);
  // ends[r][w]: the reactor's end; worker_ends[w][r]: the worker's end.
  std::vector<std::vector<int>> reactor_ends(nr, std::vector<int>(nw));
  std::vector<std::vector<int>> worker_ends(nw, std::vector<int>(nr));
  for (int r = 0; r < nr; ++r) {
    for (int w = 0; w < nw; ++w) {
      int sv[2];
      if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) != 0) {
        spdlog::critical("socketpair: {}", std::strerror(errno));
        return 1;
      }
      int buf = 4 * 1024 * 1024;
      setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &buf, sizeof buf);
      setsockopt(sv[1], SOL_SOCKET, SO_SNDBUF, &buf, sizeof buf);
      reactor_ends[r][w] = sv[0];
      worker_ends[w][r] = sv[1];
    }
  }
  // Signals are caught from before the first worker exists: a worker that
  // fails to load its plugins can exit before the reactors are up, and a
  // SIGCHLD arriving with no handler is discarded (the master would then
  // wait for its hello forever).
  base_ = event_base_new();
  for (int sig : {SIGTERM, SIGINT, SIGCHLD, SIGHUP, SIGUSR1}) {
    struct event* e = evsignal_new(base_, sig, &Master::on_signal, this);
    event_add(e, nullptr);
    signal_events_.push_back(e);
  }
  for (int w = 0; w < nw; ++w) {
    if (!spawn_worker(w, worker_ends[w])) return 1;
    for (int fd : worker_ends[w]) close(fd);
  }
  for (int r = 0; r < nr; ++r) {
    reactors_.push_back(std::make_unique<Reactor>(r, settings_, sessions_, routes_, by_slot_, reactor_ends[r]));
    reactors_.back()->start();
  }

  for (ListenSocket& l : listeners_) l.ev = event_new(base_, l.fd, EV_READ | EV_PERSIST, &Master::on_accept, this);
  // Accepting starts once every worker has loaded its plugins and said hello.
  startup_ev_ = event_new(base_, -1, EV_PERSIST, &Master::on_startup_poll, this);
  timeval every{0, 10 * 1000};
  event_add(startup_ev_, &every);

  event_base_dispatch(base_);
  finish_stop();
  return exit_code_;
}

void Master::on_startup_poll(evutil_socket_t, short, void* arg) {
  auto* self = static_cast<Master*>(arg);
  int hellos = 0;
  for (auto& r : self->reactors_) hellos = std::max(hellos, r->hellos());
  if (hellos < self->config_.worker_num) return;
  event_del(self->startup_ev_);
  for (ListenSocket& l : self->listeners_) event_add(l.ev, nullptr);
  self->ready_ = true;
  spdlog::info("wsd ready: {} worker(s), {} reactor(s), pid {}", self->config_.worker_num,
               self->config_.reactor_num, getpid());
}

void Master::on_accept(evutil_socket_t fd, short, void* arg) {
  auto* self = static_cast<Master*>(arg);
  uint16_t port = 0;
  for (const ListenSocket& l : self->listeners_) {
    if (l.fd == fd) port = l.port;
  }
  for (int i = 0; i < 64; ++i) {
    Accepted a{};
    socklen_t len = sizeof a.peer;
    int cfd = accept4(fd, reinterpret_cast<sockaddr*>(&a.peer), &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (cfd < 0) {
      if (errno == EINTR) continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK) spdlog::warn("accept: {}", std::strerror(errno));
      return;
    }
    int one = 1;
    setsockopt(cfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    a.fd = cfd;
    a.server_port = port;
    // Round robin: connections spread evenly over the reactors.
    self->reactors_[self->next_reactor_++ % self->reactors_.size()]->adopt(a);
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
    default:
      spdlog::info("signal {} ignored", static_cast<int>(sig));
      break;
  }
}

void Master::reap_children() {
  int status = 0;
  pid_t pid;
  while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
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
        spdlog::critical("worker {} failed to start; wsd does not start", w);
        exit_code_ = 1;
        begin_stop();
      }
    }
  }
}

void Master::begin_stop() {
  if (stopping_) return;
  stopping_ = true;
  for (ListenSocket& l : listeners_) {
    if (l.ev) event_del(l.ev);
  }
  event_base_loopbreak(base_);
}

// Reactors close every client (1001) and wait for their closes; then their
// channels close, which tells each worker to run its stop events and exit.
void Master::finish_stop() {
  for (auto& r : reactors_) r->request_stop();
  for (auto& r : reactors_) r->join();
  reactors_.clear();
  for (size_t w = 0; w < workers_.size(); ++w) {
    if (workers_[w].pid <= 0 || workers_[w].exited) continue;
    int status = 0;
    // Bounded wait: a worker stuck in a plugin is killed.
    for (int i = 0; i < 500; ++i) {
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
