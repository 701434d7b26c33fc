// Tests of config/loader.cc and the option table (config/schema.cc): defaults,
// every option, ranges, types, unknown keys and file-level errors.
#include "config/loader.h"

#include <doctest/doctest.h>

#include <string>

#include "tests/unit/config/helpers.h"

using namespace wsd::config;
using wsd::config::testing::load;
using wsd::config::testing::only_error;
using wsd::config::testing::TempDir;

TEST_CASE("an empty document gives the defaults") {
  for (const char* yaml : {"", "# only a comment\n", "---\n"}) {
    INFO(yaml);
    LoadResult r = load(yaml);
    REQUIRE(r.ok);
    const Config& c = r.config;
    const Config d;
    CHECK(c.source_file == "test.yaml");
    CHECK(c.mode == Mode::Process);
    CHECK(c.worker_num == d.worker_num);
    CHECK(c.reactor_num == d.reactor_num);
    CHECK(c.dispatch_mode == DispatchMode::Fixed);
    CHECK(c.max_request == 0);
    REQUIRE(c.listeners.size() == 1);
    CHECK(c.listeners[0].host == "127.0.0.1");
    CHECK(c.listeners[0].port == 9501);
    CHECK(c.listeners[0].ssl_cert_file.empty());
    CHECK(c.plugins.empty());
    REQUIRE(c.plugin_dir.size() == 2);  // next to the executable
    CHECK(c.plugin_dir[0].ends_with("/plugins"));
    CHECK(c.plugin_dir[1].ends_with("/lib/wsd/plugins"));
    CHECK(c.package_max_length == d.package_max_length);
    CHECK(c.buffer_output_size == d.buffer_output_size);
    CHECK(c.http_max_header_size == d.http_max_header_size);
    CHECK(c.http_max_headers == d.http_max_headers);
    CHECK(c.max_connection == d.max_connection);
    CHECK(c.heartbeat_check_interval == 0);
    CHECK(c.heartbeat_idle_time == 0);
    CHECK(c.handshake_timeout == d.handshake_timeout);
    CHECK(c.shutdown_timeout == d.shutdown_timeout);
    CHECK(c.log_level == LogLevel::Info);
    CHECK(c.websocket_compression_window_bits == 15);
    CHECK(c.trusted_proxies.empty());
    CHECK(c.admin_host == "127.0.0.1");
    CHECK(c.admin_port == -1);
    CHECK(c.max_connection_per_ip == 0);
    CHECK(c.handshake_rate_per_ip == 0);
    CHECK(c.max_message_rate == 0);
    CHECK(c.heartbeat_close_code == 1001);
    CHECK_FALSE(c.heartbeat_ping);
    CHECK_FALSE(c.buffer_output_close);
    CHECK(c.worker_respawn_max_delay == 10);
    CHECK(c.reload_timeout == 30);
  }
}

TEST_CASE("every option is read") {
  TempDir dir;
  const char* yaml = R"(
mode: base
worker_num: 8
reactor_num: 4
dispatch_mode: 3
max_request: 10000
host: 0.0.0.0
port: 9600
plugin_dir: [/opt/wsd/plugins, extra]
websocket_subprotocol: chat
websocket_compression: true
websocket_compression_window_bits: 10
websocket_compression_mem_level: 5
open_websocket_close_frame: true
open_websocket_ping_frame: TRUE
open_websocket_pong_frame: True
package_max_length: 4M
allowed_origins: [https://a.example, https://b.example]
http_max_header_size: 16K
http_max_headers: 100
buffer_output_size: 8M
buffer_output_close: true
max_connection: 1000
max_connection_per_ip: 10
handshake_rate_per_ip: 2.5
max_message_rate: 100
heartbeat_check_interval: 30s
heartbeat_idle_time: 2m
heartbeat_close_code: 4000
heartbeat_ping: true
trusted_proxies: [10.0.0.0/8]
admin_host: ::1
admin_port: 9100
worker_respawn_max_delay: 1m
reload_timeout: 5s
handshake_timeout: 500ms
shutdown_timeout: 1.5
log_file: /var/log/wsd.log
log_level: warning
pid_file: /run/wsd.pid
daemonize: true
user: www-data
group: www-data
)";
  LoadResult r = load(yaml, {}, dir.path());
  for (const std::string& e : r.errors) MESSAGE(e);
  REQUIRE(r.ok);
  const Config& c = r.config;
  CHECK(c.mode == Mode::Base);
  CHECK(c.worker_num == 8);
  CHECK(c.reactor_num == 4);
  CHECK(c.dispatch_mode == DispatchMode::Preemptive);
  CHECK(c.max_request == 10000);
  REQUIRE(c.listeners.size() == 1);
  CHECK(c.listeners[0].host == "0.0.0.0");
  CHECK(c.listeners[0].port == 9600);
  CHECK(c.listeners[0].line == 7);
  CHECK(c.plugin_dir == std::vector<std::string>{"/opt/wsd/plugins", dir.path() + "/extra"});
  CHECK(c.websocket_subprotocol == "chat");
  CHECK(c.websocket_compression);
  CHECK(c.websocket_compression_window_bits == 10);
  CHECK(c.websocket_compression_mem_level == 5);
  CHECK(c.open_websocket_close_frame);
  CHECK(c.open_websocket_ping_frame);
  CHECK(c.open_websocket_pong_frame);
  CHECK(c.package_max_length == 4 * 1024 * 1024);
  CHECK(c.allowed_origins == std::vector<std::string>{"https://a.example", "https://b.example"});
  CHECK(c.http_max_header_size == 16 * 1024);
  CHECK(c.http_max_headers == 100);
  CHECK(c.buffer_output_size == 8 * 1024 * 1024);
  CHECK(c.buffer_output_close);
  CHECK(c.max_connection == 1000);
  CHECK(c.max_connection_per_ip == 10);
  CHECK(c.handshake_rate_per_ip == 2.5);
  CHECK(c.max_message_rate == 100);
  CHECK(c.heartbeat_check_interval == 30);
  CHECK(c.heartbeat_idle_time == 120);
  CHECK(c.heartbeat_close_code == 4000);
  CHECK(c.heartbeat_ping);
  CHECK(c.trusted_proxies == std::vector<std::string>{"10.0.0.0/8"});
  CHECK(c.listeners[0].trusted_proxies == std::vector<std::string>{"10.0.0.0/8"});
  CHECK(c.admin_host == "::1");
  CHECK(c.admin_port == 9100);
  CHECK(c.worker_respawn_max_delay == 60);
  CHECK(c.reload_timeout == 5);
  CHECK(c.handshake_timeout == doctest::Approx(0.5));
  CHECK(c.shutdown_timeout == doctest::Approx(1.5));
  CHECK(c.log_file == "/var/log/wsd.log");
  CHECK(c.log_level == LogLevel::Warning);
  CHECK(c.pid_file == "/run/wsd.pid");
  CHECK(c.daemonize);
  CHECK(c.user == "www-data");
  CHECK(c.group == "www-data");
}

TEST_CASE("enumerations") {
  struct Case {
    const char* yaml;
    bool (*check)(const Config&);
  };
  const Case cases[] = {
      {"mode: process", [](const Config& c) { return c.mode == Mode::Process; }},
      {"mode: BASE", [](const Config& c) { return c.mode == Mode::Base; }},
      {"dispatch_mode: 1", [](const Config& c) { return c.dispatch_mode == DispatchMode::RoundRobin; }},
      {"dispatch_mode: 2", [](const Config& c) { return c.dispatch_mode == DispatchMode::Fixed; }},
      {"dispatch_mode: 4", [](const Config& c) { return c.dispatch_mode == DispatchMode::ByIp; }},
      {"log_level: trace", [](const Config& c) { return c.log_level == LogLevel::Trace; }},
      {"log_level: debug", [](const Config& c) { return c.log_level == LogLevel::Debug; }},
      {"log_level: error", [](const Config& c) { return c.log_level == LogLevel::Error; }},
      {"log_level: critical", [](const Config& c) { return c.log_level == LogLevel::Critical; }},
      {"log_level: off", [](const Config& c) { return c.log_level == LogLevel::Off; }},
  };
  for (const Case& c : cases) {
    INFO(c.yaml);
    LoadResult r = load(c.yaml);
    REQUIRE(r.ok);
    CHECK(c.check(r.config));
  }
}

TEST_CASE("sizes and durations take units") {
  struct Case {
    const char* yaml;
    bool (*check)(const Config&);
  };
  const Case cases[] = {
      {"package_max_length: 1024", [](const Config& c) { return c.package_max_length == 1024; }},
      {"package_max_length: 64K", [](const Config& c) { return c.package_max_length == 65536; }},
      {"package_max_length: 512k", [](const Config& c) { return c.package_max_length == 524288; }},
      {"package_max_length: 1G", [](const Config& c) { return c.package_max_length == 1073741824; }},
      {"buffer_output_size: 2M", [](const Config& c) { return c.buffer_output_size == 2097152; }},
      {"http_max_header_size: 1M", [](const Config& c) { return c.http_max_header_size == 1048576; }},
      {"handshake_timeout: 30s", [](const Config& c) { return c.handshake_timeout == 30; }},
      {"handshake_timeout: 250ms", [](const Config& c) { return c.handshake_timeout == 0.25; }},
      {"shutdown_timeout: 2m", [](const Config& c) { return c.shutdown_timeout == 120; }},
      {"heartbeat_check_interval: 1h", [](const Config& c) { return c.heartbeat_check_interval == 3600; }},
      {"heartbeat_check_interval: 0", [](const Config& c) { return c.heartbeat_check_interval == 0; }},
  };
  for (const Case& c : cases) {
    INFO(c.yaml);
    LoadResult r = load(c.yaml);
    REQUIRE(r.ok);
    CHECK(c.check(r.config));
  }
}

TEST_CASE("heartbeat_idle_time defaults to twice the check interval") {
  LoadResult r = load("heartbeat_check_interval: 10");
  REQUIRE(r.ok);
  CHECK(r.config.heartbeat_idle_time == 20);
  r = load("heartbeat_check_interval: 10\nheartbeat_idle_time: 15");
  REQUIRE(r.ok);
  CHECK(r.config.heartbeat_idle_time == 15);
  r = load("heartbeat_idle_time: 15");
  REQUIRE(r.ok);
  CHECK(r.config.heartbeat_check_interval == 0);
  CHECK(r.config.heartbeat_idle_time == 15);
}

TEST_CASE("range errors name the range and the line") {
  struct Case {
    const char* line;  // written on line 3
    const char* error;
  };
  const Case cases[] = {
      {"worker_num: 0", "test.yaml:3: worker_num: must be between 1 and 256 (got 0)"},
      {"worker_num: 257", "test.yaml:3: worker_num: must be between 1 and 256 (got 257)"},
      {"reactor_num: 65", "test.yaml:3: reactor_num: must be between 1 and 64 (got 65)"},
      {"dispatch_mode: 5", "test.yaml:3: dispatch_mode: must be between 1 and 4 (got 5)"},
      {"dispatch_mode: 0", "test.yaml:3: dispatch_mode: must be between 1 and 4 (got 0)"},
      {"package_max_length: 0", "test.yaml:3: package_max_length: must be between 1 and 1073741824 bytes (got 0)"},
      {"package_max_length: 2G",
       "test.yaml:3: package_max_length: must be between 1 and 1073741824 bytes (got 2147483648)"},
      {"websocket_compression_window_bits: 8",
       "test.yaml:3: websocket_compression_window_bits: must be between 9 and 15 (got 8)"},
      {"websocket_compression_window_bits: 16",
       "test.yaml:3: websocket_compression_window_bits: must be between 9 and 15 (got 16)"},
      {"websocket_compression_mem_level: 0",
       "test.yaml:3: websocket_compression_mem_level: must be between 1 and 9 (got 0)"},
      {"websocket_compression_mem_level: 10",
       "test.yaml:3: websocket_compression_mem_level: must be between 1 and 9 (got 10)"},
      {"buffer_output_size: 1023", "test.yaml:3: buffer_output_size: must be at least 1024 bytes (got 1023)"},
      {"max_connection: 0", "test.yaml:3: max_connection: must be between 1 and 16777215 (got 0)"},
      {"max_connection: 16777216", "test.yaml:3: max_connection: must be between 1 and 16777215 (got 16777216)"},
      {"http_max_header_size: 1000",
       "test.yaml:3: http_max_header_size: must be between 1024 and 1048576 bytes (got 1000)"},
      {"http_max_header_size: 2M",
       "test.yaml:3: http_max_header_size: must be between 1024 and 1048576 bytes (got 2097152)"},
      {"http_max_headers: 0", "test.yaml:3: http_max_headers: must be between 1 and 1000 (got 0)"},
      {"http_max_headers: 1001", "test.yaml:3: http_max_headers: must be between 1 and 1000 (got 1001)"},
      {"heartbeat_check_interval: -1", "test.yaml:3: heartbeat_check_interval: must be at least 0 (got -1)"},
      {"heartbeat_idle_time: -5s", "test.yaml:3: heartbeat_idle_time: must be at least 0 (got -5)"},
      {"handshake_timeout: 0", "test.yaml:3: handshake_timeout: must be greater than 0 (got 0)"},
      {"shutdown_timeout: -0.5", "test.yaml:3: shutdown_timeout: must be at least 0 (got -0.5)"},
      {"max_request: -1", "test.yaml:3: max_request: must be at least 0 (got -1)"},
      {"port: 65536", "test.yaml:3: port: must be between 0 and 65535 (got 65536)"},
      {"port: -1", "test.yaml:3: port: must be between 0 and 65535 (got -1)"},
      {"max_connection_per_ip: -1", "test.yaml:3: max_connection_per_ip: must be between 0 and 16777215 (got -1)"},
      {"max_connection_per_ip: 16777216",
       "test.yaml:3: max_connection_per_ip: must be between 0 and 16777215 (got 16777216)"},
      {"handshake_rate_per_ip: -1", "test.yaml:3: handshake_rate_per_ip: must be at least 0 (got -1)"},
      {"max_message_rate: -0.5", "test.yaml:3: max_message_rate: must be at least 0 (got -0.5)"},
      {"worker_respawn_max_delay: 0", "test.yaml:3: worker_respawn_max_delay: must be greater than 0 (got 0)"},
      {"reload_timeout: 0s", "test.yaml:3: reload_timeout: must be greater than 0 (got 0)"},
      {"reload_timeout: -1", "test.yaml:3: reload_timeout: must be greater than 0 (got -1)"},
  };
  for (const Case& c : cases) {
    INFO(c.line);
    CHECK(only_error(load(std::string("# a comment\n\n") + c.line + "\n")) == c.error);
  }
}

TEST_CASE("bounds themselves are accepted") {
  for (const char* yaml : {"worker_num: 1", "worker_num: 256", "reactor_num: 64", "package_max_length: 1G",
                           "buffer_output_size: 1024", "max_connection: 16777215", "http_max_header_size: 1024",
                           "http_max_header_size: 1M", "http_max_headers: 1000", "port: 0", "port: 65535",
                           "websocket_compression_window_bits: 9", "handshake_timeout: 1ms", "shutdown_timeout: 0",
                           "max_request: 0", "max_connection_per_ip: 0", "max_connection_per_ip: 16777215",
                           "handshake_rate_per_ip: 0", "handshake_rate_per_ip: 0.1", "max_message_rate: 0",
                           "max_message_rate: 1e6", "worker_respawn_max_delay: 1ms", "reload_timeout: 1h"}) {
    INFO(yaml);
    LoadResult r = load(yaml);
    for (const std::string& e : r.errors) MESSAGE(e);
    CHECK(r.ok);
  }
}

TEST_CASE("wrong types") {
  struct Case {
    const char* yaml;
    const char* error;
  };
  const Case cases[] = {
      {"worker_num: abc", "test.yaml:1: worker_num: expected an integer, got 'abc'"},
      {"worker_num: 2.5", "test.yaml:1: worker_num: expected an integer, got '2.5'"},
      {"worker_num:", "test.yaml:1: worker_num: expected an integer, got nothing"},
      {"worker_num: [1, 2]", "test.yaml:1: worker_num: expected an integer, got a list"},
      {"worker_num: {a: 1}", "test.yaml:1: worker_num: expected an integer, got a map"},
      {"worker_num: 99999999999999999999", "test.yaml:1: worker_num: expected an integer, got '99999999999999999999'"},
      {"daemonize: yes", "test.yaml:1: daemonize: expected true or false, got 'yes'"},
      {"daemonize: 1", "test.yaml:1: daemonize: expected true or false, got '1'"},
      {"package_max_length: 2X",
       "test.yaml:1: package_max_length: expected a size (bytes, or with a unit: 64K, 2M, 1G), got '2X'"},
      {"handshake_timeout: soon",
       "test.yaml:1: handshake_timeout: expected a duration (seconds, or with a unit: 500ms, 30s, 2m, 1h), got "
       "'soon'"},
      {"mode: thread", "test.yaml:1: mode: expected one of process, base, got 'thread'"},
      {"log_level: warnig",
       "test.yaml:1: log_level: expected one of trace, debug, info, warning, error, critical, off, got 'warnig' "
       "(did you mean 'warning'?)"},
      {"log_file: [a]", "test.yaml:1: log_file: expected a string, got a list"},
      {"allowed_origins: {a: b}", "test.yaml:1: allowed_origins: expected a list of strings, got a map"},
      {"allowed_origins: [a, [b]]", "test.yaml:1: allowed_origins[1]: expected a string, got a list"},
      {"listeners: 5", "test.yaml:1: listeners: expected a list of listeners, got '5'"},
      {"plugins: {name: x}", "test.yaml:1: plugins: expected a list of plugins, got a map"},
      {"handshake_rate_per_ip: fast", "test.yaml:1: handshake_rate_per_ip: expected a number, got 'fast'"},
      {"max_message_rate: 10/s", "test.yaml:1: max_message_rate: expected a number, got '10/s'"},
      {"max_message_rate: 10s", "test.yaml:1: max_message_rate: expected a number, got '10s'"},
      {"max_message_rate: .inf", "test.yaml:1: max_message_rate: expected a number, got '.inf'"},
      {"max_message_rate: nan", "test.yaml:1: max_message_rate: expected a number, got 'nan'"},
      {"max_message_rate:", "test.yaml:1: max_message_rate: expected a number, got nothing"},
      {"heartbeat_ping: on", "test.yaml:1: heartbeat_ping: expected true or false, got 'on'"},
      {"buffer_output_close: 1", "test.yaml:1: buffer_output_close: expected true or false, got '1'"},
      {"reload_timeout: later",
       "test.yaml:1: reload_timeout: expected a duration (seconds, or with a unit: 500ms, 30s, 2m, 1h), got "
       "'later'"},
  };
  for (const Case& c : cases) {
    INFO(c.yaml);
    CHECK(only_error(load(c.yaml)) == c.error);
  }
}

TEST_CASE("heartbeat_close_code: a code valid on the wire") {
  for (int code : {1000, 1001, 1003, 1007, 1008, 1011, 1014, 3000, 4000, 4999}) {
    INFO(code);
    LoadResult r = load("heartbeat_close_code: " + std::to_string(code));
    REQUIRE(r.ok);
    CHECK(r.config.heartbeat_close_code == code);
  }
  for (int code : {-1, 0, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000, 65535, 65536, 100000}) {
    INFO(code);
    CHECK(only_error(load("\nheartbeat_close_code: " + std::to_string(code))) ==
          "test.yaml:2: heartbeat_close_code: must be a close code valid on the wire: 1000-1003, 1007-1014 or "
          "3000-4999 (got " + std::to_string(code) + ")");
  }
  CHECK(only_error(load("heartbeat_close_code: normal")) ==
        "test.yaml:1: heartbeat_close_code: expected an integer, got 'normal'");
}

TEST_CASE("strings: scalars of any kind, nothing is empty") {
  LoadResult r = load("user: 1000\nlog_file:\nwebsocket_subprotocol: 'a b'\nallowed_origins: https://x.example");
  REQUIRE(r.ok);
  CHECK(r.config.user == "1000");
  CHECK(r.config.log_file.empty());
  CHECK(r.config.websocket_subprotocol == "a b");
  CHECK(r.config.allowed_origins == std::vector<std::string>{"https://x.example"});
}

TEST_CASE("unknown keys, with a suggestion when one is close") {
  struct Case {
    const char* yaml;
    const char* error;
  };
  const Case cases[] = {
      {"worker_num: 2\nworker_nun: 4",
       "test.yaml:2: worker_nun: unknown option 'worker_nun' (did you mean 'worker_num'?)"},
      {"listners:\n  - port: 1", "test.yaml:1: listners: unknown option 'listners' (did you mean 'listeners'?)"},
      {"heartbeat_check_intervall: 5",
       "test.yaml:1: heartbeat_check_intervall: unknown option 'heartbeat_check_intervall' (did you mean "
       "'heartbeat_check_interval'?)"},
      {"Worker_Num: 2", "test.yaml:1: Worker_Num: unknown option 'Worker_Num' (did you mean 'worker_num'?)"},
      {"completely_unrelated: 1", "test.yaml:1: completely_unrelated: unknown option 'completely_unrelated'"},
      {"zz: 1", "test.yaml:1: zz: unknown option 'zz'"},
      {"listeners:\n  - port: 1\n    prot: 2",
       "test.yaml:3: listeners[0].prot: unknown option 'prot' (did you mean 'port'?)"},
      {"worker_num: 2\nworker_num: 3", "test.yaml:2: worker_num: given twice (first on line 1)"},
      {"max_connections_per_ip: 2",
       "test.yaml:1: max_connections_per_ip: unknown option 'max_connections_per_ip' (did you mean "
       "'max_connection_per_ip'?)"},
      {"heartbeat_close: 1000",
       "test.yaml:1: heartbeat_close: unknown option 'heartbeat_close' (did you mean 'heartbeat_close_code'?)"},
  };
  for (const Case& c : cases) {
    INFO(c.yaml);
    CHECK(only_error(load(c.yaml)) == c.error);
  }
}

TEST_CASE("a YAML syntax error is one error with its line") {
  LoadResult r = load("worker_num: 2\nreactor_num: 1\nhost: [unclosed\nport: 1\n");
  std::string e = only_error(r);
  CHECK(e.starts_with("test.yaml:"));
  CHECK(e.find("YAML syntax error") != std::string::npos);

  r = load("worker_num: 2\n  bad indentation: 3\n");
  CHECK(only_error(r).starts_with("test.yaml:2: YAML syntax error: "));
}

TEST_CASE("a document that is not a map") {
  CHECK(only_error(load("- a\n- b\n")) == "test.yaml:1: expected a map of options (key: value lines), got a list");
  CHECK(only_error(load("just text")) == "test.yaml:1: expected a map of options (key: value lines), got 'just text'");
}

TEST_CASE("files: missing, a folder, empty, and a real one") {
  TempDir dir;
  std::string missing = dir.path() + "/missing.yaml";
  LoadResult r = load_config_file(missing);
  CHECK(only_error(r) == missing + ": cannot read: No such file or directory");

  CHECK(only_error(load_config_file(dir.path())) == dir.path() + ": is a directory, not a config file");

  r = load_config_file(dir.write("empty.yaml"));
  REQUIRE(r.ok);
  CHECK(r.config.worker_num == 2);
  CHECK(r.config.source_file == dir.path() + "/empty.yaml");

  std::string path = dir.write("server.yaml", "worker_num: 3\n\nreactor_num: 0\n");
  r = load_config_file(path);
  CHECK(only_error(r) == path + ":3: reactor_num: must be between 1 and 64 (got 0)");
}

TEST_CASE("every problem is reported, in order") {
  LoadResult r = load(
      "worker_num: 0\n"
      "reactor_nun: 2\n"
      "daemonize: maybe\n"
      "package_max_length: 0\n"
      "listeners:\n"
      "  - host: ::1\n"
      "    port: 70000\n");
  CHECK_FALSE(r.ok);
  REQUIRE(r.errors.size() == 5);
  CHECK(r.errors[0] == "test.yaml:1: worker_num: must be between 1 and 256 (got 0)");
  CHECK(r.errors[1] == "test.yaml:2: reactor_nun: unknown option 'reactor_nun' (did you mean 'reactor_num'?)");
  CHECK(r.errors[2] == "test.yaml:3: daemonize: expected true or false, got 'maybe'");
  CHECK(r.errors[3] == "test.yaml:4: package_max_length: must be between 1 and 1073741824 bytes (got 0)");
  CHECK(r.errors[4] == "test.yaml:7: listeners[0].port: must be between 0 and 65535 (got 70000)");
}
