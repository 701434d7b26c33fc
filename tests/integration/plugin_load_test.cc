// Plugins that must be refused at start: wsd does not start, exits non-zero,
// and the log names the file and the reason.
#include <doctest/doctest.h>

#include "test_helpers.h"
#include "wsd_server.h"

using namespace wsd::test;
using namespace std::chrono_literals;

namespace {
std::string config_with(const std::string& file, const std::string& extra = {}) {
  return extra + "plugin_dir: [\"" + WsdServer::plugin_dir() + "\"]\n"
         "plugins:\n"
         "  - name: probe\n"
         "    file: probe.so\n"
         "    paths: [\"/\"]\n"
         "  - name: broken\n"
         "    file: " + file + "\n"
         "    paths: [\"/broken\"]\n";
}

// Starts wsd expecting a refusal; returns its log after it exited.
std::string refused_start(const std::string& file, int& status, const std::string& extra = {}) {
  ServerOptions options{config_with(file, extra)};
  options.expect_start = false;
  WsdServer server(options);
  status = server.wait_exit(10000ms);
  std::string log = server.log();
  CHECK_MESSAGE(log.find("wsd ready") == std::string::npos, log);
  return log;
}
}  // namespace

TEST_CASE("plugin load: a plugin built for another ABI version is refused") {
  int status = -1;
  std::string log = refused_start("bad_abi.so", status);
  CHECK_MESSAGE(status > 0, "exit status " << status);   // non-zero and not a timeout (-1)
  CHECK_MESSAGE(contains(log, "bad_abi.so"), log);
  CHECK_MESSAGE(contains(log, "ABI"), log);
}

// Many reactors make the master's start slow: the worker fails before the
// master is ready for SIGCHLD. (It used to wait for that worker forever.)
TEST_CASE("plugin load: a worker that fails while the master is still starting stops the start") {
  int status = -1;
  std::string log = refused_start("bad_abi.so", status, "worker_num: 1\nreactor_num: 64\n");
  CHECK_MESSAGE(status == 1, "exit status " << status);
  CHECK_MESSAGE(contains(log, "failed to start"), log);
}

TEST_CASE("plugin load: a shared object without the entry point is refused") {
  int status = -1;
  std::string log = refused_start("no_entry.so", status);
  CHECK_MESSAGE(status > 0, "exit status " << status);
  CHECK_MESSAGE(contains(log, "no_entry.so"), log);
  CHECK_MESSAGE(contains(log, "wsd_plugin_entry"), log);
}

TEST_CASE("plugin load: a file that is not a shared object is refused") {
  int status = -1;
  // A text file of the build tree.
  std::string file = WsdServer::plugin_dir() + "/../CMakeCache.txt";
  std::string log = refused_start(file, status);
  CHECK_MESSAGE(status > 0, "exit status " << status);
  CHECK_MESSAGE(contains(log, "CMakeCache.txt"), log);
}

TEST_CASE("plugin load: with good plugins wsd starts and every worker reports worker_start") {
  WsdServer server({probe_config("worker_num: 3\n")});
  REQUIRE_MESSAGE(server.started(), server.log());
  CHECK(server.wait_event_count("worker_start", 3) == 3);
  CHECK(server.stop() == 0);
  CHECK(settled_events(server, "worker_stop", 2000ms).size() == 3);
}
