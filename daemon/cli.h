// Command-line flags. main() parses them, loads the config and hands over.
#pragma once

#include <string>
#include <vector>

namespace wsd::daemon {

struct CommandLine {
  std::string config_path;
  std::vector<std::string> overrides;   // --set key=value, in order
  bool test_config = false;
  bool version = false;
  bool help = false;
  // Internal: how the master starts a worker process.
  int worker = -1;
  std::vector<int> worker_fds;
  int session_fd = -1;
  int stats_fd = -1;
  int control_fd = -1;                                   // BASE mode
  std::vector<std::pair<int, uint16_t>> listen_fds;      // BASE mode: fd:port
};

// Returns false with `error` set on a bad command line.
bool parse_command_line(int argc, char** argv, CommandLine& out, std::string& error);
const char* usage();

}  // namespace wsd::daemon
