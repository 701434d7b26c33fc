// Tests of config/overrides.cc: `wsd --set key=value`.
#include <doctest/doctest.h>

#include <yaml-cpp/yaml.h>

#include "tests/unit/config/helpers.h"

using namespace wsd::config;
using wsd::config::testing::load;
using wsd::config::testing::only_error;
using wsd::config::testing::TempDir;

TEST_CASE("overrides change top-level options, replacing or adding") {
  LoadResult r = load("worker_num: 2\nport: 9501\n", {"worker_num=8", "log_level=debug", "port=9600"});
  REQUIRE(r.ok);
  CHECK(r.config.worker_num == 8);
  CHECK(r.config.log_level == LogLevel::Debug);
  CHECK(r.config.listeners[0].port == 9600);
}

TEST_CASE("overrides: later wins; values are YAML") {
  LoadResult r = load("", {"worker_num=3", "worker_num=4", "allowed_origins=[https://a, https://b]",
                           "websocket_subprotocol='x=y'", "log_file="});
  REQUIRE(r.ok);
  CHECK(r.config.worker_num == 4);
  CHECK(r.config.allowed_origins == std::vector<std::string>{"https://a", "https://b"});
  CHECK(r.config.websocket_subprotocol == "x=y");
  CHECK(r.config.log_file.empty());
}

TEST_CASE("overrides are validated like the file, and named in errors") {
  struct Case {
    std::vector<std::string> overrides;
    std::string error;
  };
  const Case cases[] = {
      {{"worker_num=abc"}, "--set worker_num: expected an integer, got 'abc'"},
      {{"worker_num=0"}, "--set worker_num: must be between 1 and 256 (got 0)"},
      {{"worker_nun=4"}, "--set worker_nun: unknown option 'worker_nun' (did you mean 'worker_num'?)"},
      {{"worker_num"}, "--set worker_num: expected key=value"},
      {{"=4"}, "--set =4: malformed key (expected names separated by '.', like worker_num or a.b)"},
      {{"a..b=4"}, "--set a..b=4: malformed key (expected names separated by '.', like worker_num or a.b)"},
      {{"worker_num.x=1"}, "--set worker_num.x: worker_num is not a map (it is '2')"},
      {{"listeners.5.port=1"}, "--set listeners.5.port: listeners is a list of 1; no item '5'"},
      {{"listeners.0.port=70000"}, "--set listeners.0.port: must be between 0 and 65535 (got 70000)"},
      {{"listeners.0.prot=7"}, "--set listeners.0.prot: unknown option 'prot' (did you mean 'port'?)"},
      {{"worker_num=[1"}, "--set worker_num: cannot parse the value: end of sequence flow not found"},
  };
  for (const Case& c : cases) {
    INFO(c.overrides[0]);
    CHECK(only_error(load("worker_num: 2\nlisteners:\n  - port: 9600\n", c.overrides)) == c.error);
  }
}

TEST_CASE("an override's error in a list names the item") {
  LoadResult r = load("", {"allowed_origins=[a, [b]]"});
  CHECK(only_error(r) == "--set allowed_origins: allowed_origins[1]: expected a string, got a list");
}

TEST_CASE("overrides reach into maps and lists") {
  TempDir dir;
  dir.write("echo.so");
  const std::string yaml =
      "listeners:\n"
      "  - port: 9600\n"
      "plugins:\n"
      "  - name: echo\n"
      "    file: echo.so\n"
      "    config:\n"
      "      reply: hello\n"
      "      nested: {a: 1}\n";
  LoadResult r = load(yaml,
                      {"listeners.0.port=9700", "plugins.0.config.reply=bye", "plugins.0.config.nested.b=2",
                       "plugins.0.config.fresh.deep=x"},
                      dir.path());
  for (const std::string& e : r.errors) MESSAGE(e);
  REQUIRE(r.ok);
  CHECK(r.config.listeners[1].port == 9700);
  YAML::Node conf = YAML::Load(r.config.plugins[0].config_yaml);
  CHECK(conf["reply"].as<std::string>() == "bye");
  CHECK(conf["nested"]["a"].as<int>() == 1);
  CHECK(conf["nested"]["b"].as<int>() == 2);
  CHECK(conf["fresh"]["deep"].as<std::string>() == "x");
}

TEST_CASE("overrides create maps where there were none") {
  TempDir dir;
  dir.write("echo.so");
  LoadResult r = load("plugins:\n  - name: echo\n    file: echo.so\n", {"plugins.0.config.reply=hi"}, dir.path());
  REQUIRE(r.ok);
  CHECK(YAML::Load(r.config.plugins[0].config_yaml)["reply"].as<std::string>() == "hi");
}

TEST_CASE("overrides and file errors are reported together") {
  LoadResult r = load("reactor_num: 0\n", {"worker_num=x"});
  REQUIRE(r.errors.size() == 2);
  CHECK(r.errors[0] == "test.yaml:1: reactor_num: must be between 1 and 64 (got 0)");
  CHECK(r.errors[1] == "--set worker_num: expected an integer, got 'x'");
}
