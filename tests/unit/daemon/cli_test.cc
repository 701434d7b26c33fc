// Tests of daemon/cli.cc: the flags, and errors that say what to do.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "daemon/cli.h"

using wsd::daemon::CommandLine;
using wsd::daemon::parse_command_line;

namespace {
// Parses `args` (without argv[0]); returns the error, "" when accepted.
std::string parse(std::vector<std::string> args, CommandLine& out) {
  std::vector<char*> argv{const_cast<char*>("wsd")};
  for (std::string& a : args) argv.push_back(a.data());
  std::string error;
  bool ok = parse_command_line(static_cast<int>(argv.size()), argv.data(), out, error);
  CHECK(ok == error.empty());
  return error;
}
std::string parse(std::vector<std::string> args) {
  CommandLine out;
  return parse(std::move(args), out);
}
}  // namespace

TEST_CASE("cli: the operator's flags, long and short") {
  CommandLine cl;
  CHECK(parse({"--config", "a.yaml", "--set", "port=1", "--set", "worker_num=4", "--test-config"}, cl) == "");
  CHECK(cl.config_path == "a.yaml");
  CHECK(cl.overrides == std::vector<std::string>{"port=1", "worker_num=4"});
  CHECK(cl.test_config);
  CommandLine s;
  CHECK(parse({"-c", "b.yaml", "-t"}, s) == "");
  CHECK(s.config_path == "b.yaml");
  CHECK(s.test_config);
  CommandLine v;
  CHECK(parse({"-v"}, v) == "");   // --version and --help need no config
  CHECK(v.version);
  CommandLine h;
  CHECK(parse({"--help"}, h) == "");
  CHECK(h.help);
}

TEST_CASE("cli: each error names the problem and the fix") {
  CHECK(parse({}) == "no configuration given: add --config FILE (the package installs /etc/wsd/server.yaml)");
  CHECK(parse({"--test-config"}).starts_with("no configuration given: add --config FILE"));
  CHECK(parse({"--config"}) == "--config needs a value, e.g. --config /etc/wsd/server.yaml");
  CHECK(parse({"-c"}) == "--config needs a value, e.g. --config /etc/wsd/server.yaml");
  CHECK(parse({"-c", "a.yaml", "--set"}) == "--set needs a value, e.g. --set port=9600");
  CHECK(parse({"-c", "a.yaml", "--port", "1"}) == "unknown option '--port'");
  // The config file without --config: the message shows the right command.
  CHECK(parse({"server.yaml"}) == "unexpected argument 'server.yaml' (a config file is given as --config server.yaml)");
}

TEST_CASE("cli: --help names every operator flag") {
  std::string help = wsd::daemon::usage();
  for (const char* flag : {"--config", "-c,", "--set", "--test-config", "-t,", "--version", "-v,", "--help", "-h,"}) {
    INFO(flag);
    CHECK(help.find(flag) != std::string::npos);
  }
  // Fits a terminal: no line over 79 columns.
  size_t start = 0;
  while (start < help.size()) {
    size_t end = help.find('\n', start);
    if (end == std::string::npos) end = help.size();
    CHECK(end - start < 80);
    start = end + 1;
  }
}
