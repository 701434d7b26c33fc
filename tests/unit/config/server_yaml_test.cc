// The shipped config/server.yaml loads, and says what its comments say.
#include <doctest/doctest.h>

#include <yaml-cpp/yaml.h>

#include "tests/unit/config/helpers.h"

using namespace wsd::config;
using wsd::config::testing::TempDir;

TEST_CASE("config/server.yaml loads with echo.so in plugin_dir") {
  TempDir dir;
  std::string echo = dir.write("echo.so");
  LoadResult r = load_config_file(WSD_SOURCE_DIR "/config/server.yaml", {"plugin_dir=" + dir.path()});
  for (const std::string& e : r.errors) MESSAGE(e);
  REQUIRE(r.ok);
  const Config& c = r.config;
  REQUIRE(c.listeners.size() == 1);
  CHECK(c.listeners[0].host == "127.0.0.1");
  CHECK(c.listeners[0].port == 9501);
  CHECK(c.mode == Mode::Process);
  CHECK(c.worker_num == 2);
  CHECK(c.reactor_num == 1);
  REQUIRE(c.plugins.size() == 1);
  CHECK(c.plugins[0].name == "echo");
  CHECK(c.plugins[0].file == echo);
  CHECK(c.plugins[0].is_default);
  CHECK(c.plugins[0].paths == std::vector<std::string>{"/"});
  CHECK(YAML::Load(c.plugins[0].config_yaml)["reply"].as<std::string>() == "");
}

// Every commented-out option line ("# key: value") is a valid option with
// its default value: uncommenting them all changes nothing.
TEST_CASE("config/server.yaml: the commented options are the defaults") {
  TempDir dir;
  dir.write("echo.so");
  std::ifstream in(WSD_SOURCE_DIR "/config/server.yaml");
  std::string line, uncommented;
  int options = 0;
  while (std::getline(in, line)) {
    // "# name: value" with a lower-case name and no space in it.
    size_t colon = line.find(": ");
    bool option = line.starts_with("# ") && colon != std::string::npos && line.size() > 2 && line[2] >= 'a' &&
                  line[2] <= 'z' && line.find(' ', 2) > colon;
    if (option) {
      uncommented += line.substr(2) + "\n";
      ++options;
    } else {
      uncommented += line + "\n";
    }
  }
  CHECK(options >= 20);
  LoadResult r = load_config_string(uncommented, "server.yaml", dir.path(), {"plugin_dir=" + dir.path()});
  for (const std::string& e : r.errors) MESSAGE(e);
  REQUIRE(r.ok);
  LoadResult plain = load_config_file(WSD_SOURCE_DIR "/config/server.yaml", {"plugin_dir=" + dir.path()});
  REQUIRE(plain.ok);
  const Config& a = r.config;
  const Config& b = plain.config;
  CHECK(a.dispatch_mode == b.dispatch_mode);
  CHECK(a.max_request == b.max_request);
  CHECK(a.package_max_length == b.package_max_length);
  CHECK(a.buffer_output_size == b.buffer_output_size);
  CHECK(a.max_connection == b.max_connection);
  CHECK(a.http_max_header_size == b.http_max_header_size);
  CHECK(a.http_max_headers == b.http_max_headers);
  CHECK(a.heartbeat_check_interval == b.heartbeat_check_interval);
  CHECK(a.heartbeat_idle_time == b.heartbeat_idle_time);
  CHECK(a.handshake_timeout == b.handshake_timeout);
  CHECK(a.shutdown_timeout == b.shutdown_timeout);
  CHECK(a.websocket_compression == b.websocket_compression);
  CHECK(a.websocket_compression_window_bits == b.websocket_compression_window_bits);
  CHECK(a.websocket_compression_mem_level == b.websocket_compression_mem_level);
  CHECK(a.log_level == b.log_level);
  CHECK(a.log_file == b.log_file);
  CHECK(a.daemonize == b.daemonize);
  CHECK(a.listeners.size() == b.listeners.size());
  CHECK(a.trusted_proxies == b.trusted_proxies);
  CHECK(a.admin_host == b.admin_host);
  CHECK(a.admin_port == b.admin_port);
  CHECK(a.max_connection_per_ip == b.max_connection_per_ip);
  CHECK(a.handshake_rate_per_ip == b.handshake_rate_per_ip);
  CHECK(a.max_message_rate == b.max_message_rate);
  CHECK(a.heartbeat_close_code == b.heartbeat_close_code);
  CHECK(a.heartbeat_ping == b.heartbeat_ping);
  CHECK(a.buffer_output_close == b.buffer_output_close);
  CHECK(a.worker_respawn_max_delay == b.worker_respawn_max_delay);
  CHECK(a.reload_timeout == b.reload_timeout);
  for (size_t i = 0; i < a.listeners.size() && i < b.listeners.size(); ++i) {
    const Listener& x = a.listeners[i];
    const Listener& y = b.listeners[i];
    CHECK(x.ssl_cert_file == y.ssl_cert_file);
    CHECK(x.ssl_key_file == y.ssl_key_file);
    CHECK(x.ssl_protocols == y.ssl_protocols);
    CHECK(x.ssl_ciphers == y.ssl_ciphers);
    CHECK(x.ssl_verify_peer == y.ssl_verify_peer);
    CHECK(x.ssl_client_cert_file == y.ssl_client_cert_file);
    CHECK(x.proxy_protocol == y.proxy_protocol);
    CHECK(x.trusted_proxies == y.trusted_proxies);
  }
}

// Every option the loader knows is named in server.yaml (most as "# name: "
// at their default) and appears in docs/configuration.md's table (as "| `name` |"), from which
// docs/server.yaml.5 is generated (scripts/gen-server-yaml-man.py; the
// man_pages test checks the committed page is up to date).
namespace {
// `word` occurs in `text` not as part of a longer option name.
bool names_word(const std::string& text, const std::string& word) {
  auto part = [](char c) { return (c >= 'a' && c <= 'z') || c == '_'; };
  for (size_t at = text.find(word); at != std::string::npos; at = text.find(word, at + 1)) {
    size_t end = at + word.size();
    if ((at == 0 || !part(text[at - 1])) && (end == text.size() || !part(text[end]))) return true;
  }
  return false;
}
}  // namespace

TEST_CASE("config/server.yaml and docs/configuration.md name every option") {
  auto slurp = [](const char* path) {
    std::ifstream in(path);
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  };
  std::string yaml = slurp(WSD_SOURCE_DIR "/config/server.yaml");
  std::string doc = slurp(WSD_SOURCE_DIR "/docs/configuration.md");
  std::vector<std::string> options = option_names();
  CHECK(options.size() > 40);
  for (const std::string& name : options) {
    INFO(name);
    CHECK(names_word(yaml, name));
    CHECK(doc.find("| `" + name + "` |") != std::string::npos);
  }
}
