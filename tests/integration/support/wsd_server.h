// Starts the real wsd binary on an ephemeral loopback port with a written
// config, for integration tests, and stops it (bounded waits everywhere).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <string>
#include <vector>

namespace wsd::test {

struct ServerOptions {
  std::string yaml{};                     // the config body (without host/port; added)
  std::vector<std::string> extra_args{};  // e.g. {"--set", "worker_num=3"}
  std::chrono::milliseconds start_timeout{10000};
  bool expect_start = true;               // false: the test expects a refusal
  // Runs in the server's folder before the config is written and wsd starts
  // (e.g. make_test_certs): relative paths in the config find its files.
  std::function<void(const std::string& dir)> prepare{};
};

class WsdServer {
 public:
  // Paths come from the build: WSD_BINARY and WSD_PLUGIN_DIR (compile definitions).
  static std::string binary();
  static std::string plugin_dir();

  explicit WsdServer(ServerOptions options);
  ~WsdServer();   // SIGTERM, then SIGKILL after a bounded wait

  bool started() const { return port_ != 0; }
  uint16_t port() const { return port_; }
  // Every listener's bound port, in config order (ports()[0] == port()).
  const std::vector<uint16_t>& ports() const { return ports_; }
  pid_t pid() const { return pid_; }
  const std::string& dir() const { return dir_; }   // a temp folder for this server
  std::string events_file() const { return dir_ + "/events.log"; }
  std::string log() const;                           // everything wsd wrote to stderr

  // Sends SIGTERM and waits (bounded); returns the exit status (or -1 on timeout).
  int stop(std::chrono::milliseconds timeout = std::chrono::milliseconds(10000));
  // For tests that expect wsd to exit by itself (a refused config or plugin).
  int wait_exit(std::chrono::milliseconds timeout);

  // Sends a signal to the master (SIGHUP: reload).
  bool signal(int sig) const;
  // Waits (bounded) until the log, after its first `from` bytes, contains
  // `needle`; true when it does. log().size() before an action is `from`.
  bool wait_log(const std::string& needle, size_t from,
                std::chrono::milliseconds timeout = std::chrono::milliseconds(5000)) const;

  // Lines of the probe plugin's events file.
  std::vector<std::string> events() const;
  // Waits (bounded) until some event line contains `needle`; counts matches.
  size_t wait_event_count(const std::string& needle, size_t at_least,
                          std::chrono::milliseconds timeout = std::chrono::milliseconds(5000)) const;

 private:
  std::string dir_;
  pid_t pid_ = -1;
  uint16_t port_ = 0;
  std::vector<uint16_t> ports_;
  int exit_status_ = -1;
  bool exited_ = false;
};

// True when the suite runs in BASE mode (WSD_TEST_MODE=base).
bool base_mode();

// A config with the probe plugin on "/" and the echo plugin on /echo,
// events recorded in the server's folder. `extra` is appended (top-level keys).
std::string probe_config(const std::string& extra = {});

}  // namespace wsd::test
