// Tests of config/listeners.cc: the top-level host/port and `listeners:`.
#include <doctest/doctest.h>

#include "tests/unit/config/helpers.h"

using namespace wsd::config;
using wsd::config::testing::load;
using wsd::config::testing::only_error;
using wsd::config::testing::TempDir;

TEST_CASE("listeners: the top-level first, then the list in order") {
  LoadResult r = load(
      "host: 0.0.0.0\n"
      "port: 9600\n"
      "listeners:\n"
      "  - port: 9601\n"
      "  - host: ::1\n"
      "    port: 0\n");
  REQUIRE(r.ok);
  REQUIRE(r.config.listeners.size() == 3);
  CHECK(r.config.listeners[0].host == "0.0.0.0");
  CHECK(r.config.listeners[0].port == 9600);
  CHECK(r.config.listeners[0].line == 1);
  CHECK(r.config.listeners[1].host == "127.0.0.1");
  CHECK(r.config.listeners[1].port == 9601);
  CHECK(r.config.listeners[1].line == 4);
  CHECK(r.config.listeners[2].host == "::1");
  CHECK(r.config.listeners[2].port == 0);
  CHECK(r.config.listeners[2].line == 5);
}

TEST_CASE("listeners: TLS files resolve against the config's folder and must exist") {
  TempDir dir;
  dir.write("tls/cert.pem");
  dir.write("tls/key.pem");
  LoadResult r = load(
      "ssl_cert_file: tls/cert.pem\n"
      "ssl_key_file: tls/key.pem\n"
      "listeners:\n"
      "  - port: 9443\n"
      "    ssl_cert_file: " + dir.path() + "/tls/cert.pem\n"
      "    ssl_key_file: tls/key.pem\n",
      {}, dir.path());
  for (const std::string& e : r.errors) MESSAGE(e);
  REQUIRE(r.ok);
  CHECK(r.config.listeners[0].ssl_cert_file == dir.path() + "/tls/cert.pem");
  CHECK(r.config.listeners[0].ssl_key_file == dir.path() + "/tls/key.pem");
  CHECK(r.config.listeners[1].ssl_cert_file == dir.path() + "/tls/cert.pem");
  CHECK(r.config.listeners[1].ssl_key_file == dir.path() + "/tls/key.pem");

  r = load("listeners:\n  - port: 9443\n    ssl_cert_file: nope.pem\n    ssl_key_file: tls/key.pem\n", {},
           dir.path());
  CHECK(only_error(r) == "test.yaml:3: listeners[0].ssl_cert_file: no such file: " + dir.path() + "/nope.pem");
}

TEST_CASE("listeners: errors") {
  TempDir dir;
  dir.write("cert.pem");
  struct Case {
    std::string yaml;
    std::string error;
  };
  const Case cases[] = {
      {"listeners:\n  - host: ::1\n", "test.yaml:2: listeners[0].port: missing (each listener needs a port)"},
      {"listeners:\n  - 9601\n",
       "test.yaml:2: listeners[0]: expected a map (host, port and the other listener options), got '9601'"},
      {"listeners:\n  - port: 1\n    hots: a\n",
       "test.yaml:3: listeners[0].hots: unknown option 'hots' (did you mean 'host'?)"},
      {"listeners:\n  - port: 1\n    backlog: 5\n", "test.yaml:3: listeners[0].backlog: unknown option 'backlog'"},
      {"listeners:\n  - port: 1\n    host: ''\n", "test.yaml:3: listeners[0].host: must not be empty"},
      {"listeners:\n  - port: 9501\n",
       "test.yaml:2: listeners[0]: 127.0.0.1:9501 is already used by the top-level host/port"},
      {"listeners:\n  - port: 5\n  - port: 5\n",
       "test.yaml:3: listeners[1]: 127.0.0.1:5 is already used by listeners[0]"},
      {"listeners:\n  - port: 5\n    ssl_cert_file: cert.pem\n",
       "test.yaml:3: listeners[0].ssl_key_file: must be set together with ssl_cert_file"},
      {"ssl_key_file: cert.pem\n", "test.yaml:1: ssl_cert_file: must be set together with ssl_key_file"},
      // A file that does not exist is one error, not also "must be set together".
      {"ssl_cert_file: nope.pem\nssl_key_file: cert.pem\n",
       "test.yaml:1: ssl_cert_file: no such file: " + dir.path() + "/nope.pem"},
  };
  for (const Case& c : cases) {
    INFO(c.yaml);
    CHECK(only_error(load(c.yaml, {}, dir.path())) == c.error);
  }
}

TEST_CASE("listeners: port 0 (ephemeral) may repeat") {
  LoadResult r = load("port: 0\nlisteners:\n  - port: 0\n  - port: 0\n");
  REQUIRE(r.ok);
  CHECK(r.config.listeners.size() == 3);
}
