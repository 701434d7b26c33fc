#include "wsd_server.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <regex>
#include <sstream>
#include <thread>

extern char** environ;

namespace wsd::test {

std::string WsdServer::binary() { return WSD_BINARY; }

bool base_mode() {
  const char* mode = std::getenv("WSD_TEST_MODE");
  return mode != nullptr && std::string(mode) == "base";
}
std::string WsdServer::plugin_dir() { return WSD_PLUGIN_DIR; }

std::string probe_config(const std::string& extra) {
  std::string plugins = WsdServer::plugin_dir();
  return "plugin_dir: [\"" + plugins + "\"]\n"
         "plugins:\n"
         "  - name: probe\n"
         "    file: probe.so\n"
         "    default: true\n"
         "    paths: [\"/\"]\n"
         "    config:\n"
         "      events_file: EVENTS_FILE\n"
         "      greeting: hello\n"
         "  - name: echo\n"
         "    file: echo.so\n"
         "    paths: [\"/echo\"]\n" +
         extra;
}

WsdServer::WsdServer(ServerOptions options) {
  char tmpl[] = "/tmp/wsd-test-XXXXXX";
  dir_ = mkdtemp(tmpl);
  if (options.prepare) options.prepare(dir_);
  std::string yaml = "host: 127.0.0.1\nport: 0\nlog_level: debug\n" + options.yaml;
  // One suite, two modes: WSD_TEST_MODE=base runs every server in BASE mode.
  if (base_mode()) yaml += "\nmode: base\n";
  size_t pos;
  while ((pos = yaml.find("EVENTS_FILE")) != std::string::npos) yaml.replace(pos, 11, events_file());
  std::ofstream(dir_ + "/server.yaml") << yaml;

  std::vector<std::string> args = {binary(), "--config", dir_ + "/server.yaml"};
  args.insert(args.end(), options.extra_args.begin(), options.extra_args.end());
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  std::string log_path = dir_ + "/stderr.log";
  posix_spawn_file_actions_addopen(&actions, 2, log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn(&pid_, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);

  if (!options.expect_start) return;
  // The master prints "listening on HOST:PORT", then "wsd ready" once every
  // worker has loaded its plugins.
  std::regex listening("listening on [^ ]*:([0-9]+)");
  auto deadline = std::chrono::steady_clock::now() + options.start_timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    std::string text = log();
    if (text.find("wsd ready") != std::string::npos) {
      // One "listening on" line per listener, in config order.
      for (auto it = std::sregex_iterator(text.begin(), text.end(), listening); it != std::sregex_iterator(); ++it)
        ports_.push_back(static_cast<uint16_t>(std::stoi((*it)[1])));
      if (!ports_.empty()) port_ = ports_.front();
      return;
    }
    int status;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      exited_ = true;
      exit_status_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

WsdServer::~WsdServer() {
  if (!exited_ && pid_ > 0) {
    if (stop(std::chrono::milliseconds(10000)) < 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
  }
  if (std::getenv("WSD_KEEP_TEST_DIRS") == nullptr) {
    std::string cmd = "rm -rf '" + dir_ + "'";
    [[maybe_unused]] int rc = std::system(cmd.c_str());
  }
}

std::string WsdServer::log() const {
  std::ifstream in(dir_ + "/stderr.log");
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

int WsdServer::stop(std::chrono::milliseconds timeout) {
  if (exited_) return exit_status_;
  kill(pid_, SIGTERM);
  return wait_exit(timeout);
}

int WsdServer::wait_exit(std::chrono::milliseconds timeout) {
  if (exited_) return exit_status_;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    int status;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      exited_ = true;
      exit_status_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      return exit_status_;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return -1;
}

bool WsdServer::signal(int sig) const { return !exited_ && pid_ > 0 && kill(pid_, sig) == 0; }

bool WsdServer::wait_log(const std::string& needle, size_t from, std::chrono::milliseconds timeout) const {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  do {
    std::string text = log();
    if (text.size() > from && text.find(needle, from) != std::string::npos) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  } while (std::chrono::steady_clock::now() < deadline);
  return false;
}

std::vector<std::string> WsdServer::events() const {
  std::vector<std::string> lines;
  std::ifstream in(events_file());
  std::string line;
  while (std::getline(in, line)) lines.push_back(line);
  return lines;
}

size_t WsdServer::wait_event_count(const std::string& needle, size_t at_least,
                                   std::chrono::milliseconds timeout) const {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  size_t n = 0;
  do {
    n = 0;
    for (const std::string& l : events()) n += l.find(needle) != std::string::npos;
    if (n >= at_least) return n;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  } while (std::chrono::steady_clock::now() < deadline);
  return n;
}

}  // namespace wsd::test
