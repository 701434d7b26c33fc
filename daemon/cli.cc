#include "daemon/cli.h"

#include <cstdlib>
#include <string_view>

namespace wsd::daemon {

namespace {
bool parse_int(const char* s, int& out) {
  char* end = nullptr;
  long v = std::strtol(s, &end, 10);
  if (!s[0] || *end) return false;
  out = static_cast<int>(v);
  return true;
}

bool parse_fd_list(const std::string& s, std::vector<int>& out) {
  size_t pos = 0;
  while (pos <= s.size()) {
    size_t comma = s.find(',', pos);
    std::string item = s.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos);
    int fd;
    if (!parse_int(item.c_str(), fd)) return false;
    out.push_back(fd);
    if (comma == std::string::npos) break;
    pos = comma + 1;
  }
  return !out.empty();
}
// "fd:port,fd:port"
bool parse_listen_fds(const std::string& s, std::vector<std::pair<int, uint16_t>>& out) {
  std::vector<int> numbers;
  std::string flat = s;
  for (char& c : flat) {
    if (c == ':') c = ',';
  }
  if (!parse_fd_list(flat, numbers) || numbers.size() % 2 != 0) return false;
  for (size_t i = 0; i < numbers.size(); i += 2)
    out.emplace_back(numbers[i], static_cast<uint16_t>(numbers[i + 1]));
  return true;
}
}  // namespace

const char* usage() {
  return "usage: wsd --config FILE [--set KEY=VALUE]...\n"
         "       wsd --test-config --config FILE [--set KEY=VALUE]...\n"
         "       wsd --version | --help\n"
         "\n"
         "Runs the wsd WebSocket server in the foreground (as systemd expects),\n"
         "with the listeners and plugins FILE names. It logs to stderr unless\n"
         "FILE sets log_file.\n"
         "\n"
         "  -c, --config FILE    the YAML configuration; the package installs\n"
         "                       /etc/wsd/server.yaml (options: man server.yaml)\n"
         "      --set KEY=VALUE  change one option of FILE, checked like the file:\n"
         "                       --set port=9600 --set plugins.0.config.reply=hi\n"
         "  -t, --test-config    check FILE and the plugin files it names, print\n"
         "                       every problem, exit 0 (valid) or 1 (refused)\n"
         "  -v, --version        print the version and the plugin ABI version\n"
         "  -h, --help           print this help\n"
         "\n"
         "Signals to the master process: TERM or INT stop gracefully (clients get\n"
         "close 1001), HUP reloads the config and plugins without dropping clients,\n"
         "USR1 reopens log files.\n"
         "Exit status: 0 stopped cleanly or config valid, 1 config refused or start\n"
         "failed (the reason is logged), 2 bad command line.\n"
         "More: man wsd, man server.yaml.\n";
}

bool parse_command_line(int argc, char** argv, CommandLine& out, std::string& error) {
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    auto value = [&](const char* name) -> const char* {
      if (i + 1 >= argc) {
        error = std::string(name) + " needs a value";
        if (arg == "--config" || arg == "-c") error += ", e.g. --config /etc/wsd/server.yaml";
        if (arg == "--set") error += ", e.g. --set port=9600";
        return nullptr;
      }
      return argv[++i];
    };
    if (arg == "--config" || arg == "-c") {
      const char* v = value("--config");
      if (!v) return false;
      out.config_path = v;
    } else if (arg == "--set") {
      const char* v = value("--set");
      if (!v) return false;
      out.overrides.emplace_back(v);
    } else if (arg == "--test-config" || arg == "-t") {
      out.test_config = true;
    } else if (arg == "--version" || arg == "-v") {
      out.version = true;
    } else if (arg == "--help" || arg == "-h") {
      out.help = true;
    } else if (arg == "--worker") {
      const char* v = value("--worker");
      if (!v || !parse_int(v, out.worker)) return error.empty() ? (error = "--worker needs a number", false) : false;
    } else if (arg == "--worker-fds") {
      const char* v = value("--worker-fds");
      if (!v || !parse_fd_list(v, out.worker_fds)) return error.empty() ? (error = "bad --worker-fds", false) : false;
    } else if (arg == "--control-fd") {
      const char* v = value("--control-fd");
      if (!v || !parse_int(v, out.control_fd)) return error.empty() ? (error = "bad --control-fd", false) : false;
    } else if (arg == "--listen-fds") {
      const char* v = value("--listen-fds");
      if (!v || !parse_listen_fds(v, out.listen_fds)) return error.empty() ? (error = "bad --listen-fds", false) : false;
    } else if (arg == "--stats-fd") {
      const char* v = value("--stats-fd");
      if (!v || !parse_int(v, out.stats_fd)) return error.empty() ? (error = "bad --stats-fd", false) : false;
    } else if (arg == "--session-fd") {
      const char* v = value("--session-fd");
      if (!v || !parse_int(v, out.session_fd)) return error.empty() ? (error = "bad --session-fd", false) : false;
    } else if (arg.starts_with("-")) {
      error = "unknown option '" + std::string(arg) + "'";
      return false;
    } else {
      // The most likely slip: the config file without --config.
      error = "unexpected argument '" + std::string(arg) + "' (a config file is given as --config " +
              std::string(arg) + ")";
      return false;
    }
  }
  if (!out.help && !out.version && out.config_path.empty()) {
    error = "no configuration given: add --config FILE (the package installs /etc/wsd/server.yaml)";
    return false;
  }
  return true;
}

}  // namespace wsd::daemon
