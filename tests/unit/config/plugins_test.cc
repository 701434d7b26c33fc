// Tests of config/plugins.cc: files, names, paths, the default, config subtrees.
#include <doctest/doctest.h>

#include <yaml-cpp/yaml.h>

#include "tests/unit/config/helpers.h"

using namespace wsd::config;
using wsd::config::testing::load;
using wsd::config::testing::only_error;
using wsd::config::testing::TempDir;

TEST_CASE("plugins: every field") {
  TempDir dir;
  dir.write("echo.so");
  LoadResult r = load(
      "plugins:\n"
      "  - name: echo\n"
      "    file: echo.so\n"
      "    paths: [/, /echo]\n"
      "    default: true\n"
      "    config:\n"
      "      reply: this is server\n"
      "      list: [1, 2]\n",
      {}, dir.path());
  for (const std::string& e : r.errors) MESSAGE(e);
  REQUIRE(r.ok);
  REQUIRE(r.config.plugins.size() == 1);
  const Plugin& p = r.config.plugins[0];
  CHECK(p.name == "echo");
  CHECK(p.file == dir.path() + "/echo.so");
  CHECK(p.paths == std::vector<std::string>{"/", "/echo"});
  CHECK(p.is_default);
  CHECK(p.line == 2);
  YAML::Node conf = YAML::Load(p.config_yaml);
  CHECK(conf["reply"].as<std::string>() == "this is server");
  CHECK(conf["list"][1].as<int>() == 2);
}

TEST_CASE("plugins: defaults of the optional fields") {
  TempDir dir;
  dir.write("a.so");
  LoadResult r = load("plugins:\n  - name: a\n    file: a.so\n", {}, dir.path());
  REQUIRE(r.ok);
  const Plugin& p = r.config.plugins[0];
  CHECK(p.paths.empty());
  CHECK_FALSE(p.is_default);
  CHECK(p.config_yaml.empty());
}

TEST_CASE("plugins: the config subtree keeps scalars, strings and nesting") {
  TempDir dir;
  dir.write("a.so");
  LoadResult r = load(
      "plugins:\n"
      "  - name: a\n"
      "    file: a.so\n"
      "    config: {reply: \"\", rooms: {lobby: {max: 10}}, tags: [x, 'y: z']}\n",
      {}, dir.path());
  REQUIRE(r.ok);
  YAML::Node conf = YAML::Load(r.config.plugins[0].config_yaml);
  CHECK(conf["reply"].as<std::string>() == "");
  CHECK(conf["rooms"]["lobby"]["max"].as<int>() == 10);
  CHECK(conf["tags"][1].as<std::string>() == "y: z");
}

TEST_CASE("plugins: file resolution") {
  TempDir dir;
  std::string abs = dir.write("abs/a.so");
  dir.write("conf/rel/b.so");
  dir.write("conf/c.so");
  dir.write("dir1/d.so");
  dir.write("dir2/d.so");
  dir.write("dir2/e.so");
  std::string yaml =
      "plugin_dir: [" + dir.path() + "/dir1, ../dir2]\n"
      "plugins:\n"
      "  - {name: a, file: " + abs + "}\n"
      "  - {name: b, file: rel/b.so}\n"
      "  - {name: c, file: c.so}\n"
      "  - {name: d, file: d.so}\n"
      "  - {name: e, file: e.so}\n"
      "  - {name: f, file: ./c.so}\n";
  LoadResult r = load(yaml, {}, dir.path() + "/conf");
  for (const std::string& e : r.errors) MESSAGE(e);
  REQUIRE(r.ok);
  CHECK(r.config.plugin_dir == std::vector<std::string>{dir.path() + "/dir1", dir.path() + "/dir2"});
  CHECK(r.config.plugins[0].file == abs);                               // absolute: as is
  CHECK(r.config.plugins[1].file == dir.path() + "/conf/rel/b.so");     // relative to the config
  CHECK(r.config.plugins[2].file == dir.path() + "/conf/c.so");         // next to the config first
  CHECK(r.config.plugins[3].file == dir.path() + "/dir1/d.so");         // then plugin_dir in order
  CHECK(r.config.plugins[4].file == dir.path() + "/dir2/e.so");
  CHECK(r.config.plugins[5].file == dir.path() + "/conf/c.so");         // normalized
}

TEST_CASE("plugins: a missing file says where it looked") {
  TempDir dir;
  dir.write("dir1/x.so");
  LoadResult r = load("plugin_dir: [dir1, dir2]\nplugins:\n  - name: echo\n    file: echo.so\n", {}, dir.path());
  CHECK(only_error(r) == "test.yaml:4: plugins[0].file: no such file: echo.so (looked in: " + dir.path() + ", " +
                             dir.path() + "/dir1, " + dir.path() + "/dir2)");

  // A path with a '/' is not searched for in plugin_dir.
  r = load("plugin_dir: [dir1]\nplugins:\n  - name: x\n    file: sub/x.so\n", {}, dir.path());
  CHECK(only_error(r) == "test.yaml:4: plugins[0].file: no such file: sub/x.so (looked in: " + dir.path() + "/sub)");

  r = load("plugins:\n  - name: x\n    file: /nonexistent/x.so\n", {}, dir.path());
  CHECK(only_error(r) == "test.yaml:3: plugins[0].file: no such file: /nonexistent/x.so (looked in: /nonexistent)");
}

TEST_CASE("plugins: without plugin_dir, the folders next to the executable are searched") {
  TempDir dir;
  LoadResult r = load("plugins:\n  - name: x\n    file: surely-missing.so\n", {}, dir.path());
  std::string e = only_error(r);
  CHECK(e.find("/plugins, ") != std::string::npos);
  CHECK(e.ends_with("/lib/wsd/plugins)"));
}

TEST_CASE("plugins: errors") {
  TempDir dir;
  dir.write("a.so");
  dir.write("b.so");
  struct Case {
    std::string yaml;
    std::string error;
  };
  const Case cases[] = {
      {"plugins:\n  - file: a.so\n", "test.yaml:2: plugins[0].name: missing (each plugin needs one)"},
      {"plugins:\n  - name: a\n", "test.yaml:2: plugins[0].file: missing (each plugin needs one)"},
      {"plugins:\n  - name: ''\n    file: a.so\n", "test.yaml:2: plugins[0].name: must not be empty"},
      {"plugins:\n  - a.so\n",
       "test.yaml:2: plugins[0]: expected a map (name, file, paths, default, config), got 'a.so'"},
      {"plugins:\n  - name: a\n    file: a.so\n    path: [/a]\n",
       "test.yaml:4: plugins[0].path: unknown option 'path' (did you mean 'paths'?)"},
      {"plugins:\n  - name: a\n    file: a.so\n    paths: [/a, chat]\n",
       "test.yaml:4: plugins[0].paths[1]: must start with '/' (got 'chat')"},
      {"plugins:\n  - name: a\n    file: a.so\n    default: yes\n",
       "test.yaml:4: plugins[0].default: expected true or false, got 'yes'"},
      {"plugins:\n  - name: a\n    file: a.so\n  - name: a\n    file: b.so\n",
       "test.yaml:4: plugins[1].name: 'a' is already the name of plugins[0] 'a' (line 2)"},
      {"plugins:\n  - {name: a, file: a.so, default: true}\n  - {name: b, file: b.so, default: true}\n",
       "test.yaml:3: plugins[1].default: only one plugin may be the default, and plugins[0] 'a' (line 2) is"},
      {"plugins:\n  - {name: a, file: a.so, paths: [/x, /chat]}\n  - {name: b, file: b.so, paths: [/chat]}\n",
       "test.yaml:3: plugins[1].paths[0]: '/chat' is already served by plugins[0] 'a' (line 2)"},
  };
  for (const Case& c : cases) {
    INFO(c.yaml);
    CHECK(only_error(load(c.yaml, {}, dir.path())) == c.error);
  }
}

TEST_CASE("plugins: a single path may be written as a string") {
  TempDir dir;
  dir.write("a.so");
  LoadResult r = load("plugins:\n  - {name: a, file: a.so, paths: /chat}\n", {}, dir.path());
  REQUIRE(r.ok);
  CHECK(r.config.plugins[0].paths == std::vector<std::string>{"/chat"});
}
