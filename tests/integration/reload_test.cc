// SIGHUP in PROCESS mode: the workers are replaced one at a time with the
// plugin files re-read from disk; no client connection closes, no message is
// lost, and the replies switch from the old build to the new one.
#include <doctest/doctest.h>

#include <chrono>
#include <csignal>
#include <thread>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "test_helpers.h"
#include "ws_client.h"
#include "wsd_server.h"

using namespace wsd::test;
namespace fs = std::filesystem;

namespace {
// Swaps the file the config names, the way a deploy does: a new inode, so
// processes that have the old one mapped keep it.
void install_plugin(const std::string& from, const std::string& to) {
  fs::copy_file(from, to + ".tmp", fs::copy_options::overwrite_existing);
  fs::rename(to + ".tmp", to);
}
}  // namespace

TEST_CASE("reload: a new plugin build goes live without closing a connection or losing a message") {
  if (base_mode()) return;  // PROCESS mode only (BASE workers own their connections)
  char tmpl[] = "/tmp/wsd-reload-XXXXXX";
  std::string dir = mkdtemp(tmpl);
  std::string plugin = dir + "/versioned.so";
  install_plugin(WsdServer::plugin_dir() + "/versioned_v1.so", plugin);
  WsdServer server({"worker_num: 2\nplugins:\n  - name: versioned\n    file: " + plugin +
                    "\n    default: true\n"});
  REQUIRE_MESSAGE(server.started(), server.log());

  std::vector<std::unique_ptr<WsClient>> clients;
  for (int i = 0; i < 4; ++i) {
    clients.push_back(std::make_unique<WsClient>());
    REQUIRE(clients.back()->open(server.port(), "/"));
  }
  int sent = 0, received = 0, v1 = 0, v2 = 0;
  bool in_order = true, closed = false, reloaded = false;
  std::vector<bool> saw_v2(clients.size(), false);
  // Bounded by time, not rounds: successors start slower under sanitizers.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  for (int round = 0; std::chrono::steady_clock::now() < deadline && !(reloaded && v2 >= 40); ++round) {
    if (round == 20) {
      install_plugin(WsdServer::plugin_dir() + "/versioned_v2.so", plugin);
      kill(server.pid(), SIGHUP);
      reloaded = true;
    }
    for (size_t c = 0; c < clients.size(); ++c) {
      std::string msg = std::to_string(c) + "-" + std::to_string(round);
      REQUIRE(clients[c]->send_text(msg));
      ++sent;
    }
    for (size_t c = 0; c < clients.size(); ++c) {
      Received r = clients[c]->receive();
      if (r.kind != Received::Message) {
        closed = true;
        break;
      }
      ++received;
      std::string expect = std::to_string(c) + "-" + std::to_string(round);
      in_order = in_order && r.data.size() > 3 && r.data.substr(3) == expect;
      if (r.data.rfind("v1:", 0) == 0) {
        ++v1;
        in_order = in_order && !saw_v2[c];  // once a connection's worker is new, it stays new
      }
      if (r.data.rfind("v2:", 0) == 0) {
        ++v2;
        saw_v2[c] = true;
      }
    }
    if (closed) break;
  }
  CHECK_FALSE(closed);
  CHECK(received == sent);
  CHECK(in_order);
  CHECK(v1 > 0);
  CHECK(v2 >= 40);
  for (int i = 0; i < 250 && server.log().find("reload complete") == std::string::npos; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  CHECK(server.log().find("reload complete") != std::string::npos);
  fs::remove_all(dir);
}

TEST_CASE("reload: a plugin that fails to load keeps the old workers running") {
  if (base_mode()) return;
  char tmpl[] = "/tmp/wsd-reload-XXXXXX";
  std::string dir = mkdtemp(tmpl);
  std::string plugin = dir + "/versioned.so";
  install_plugin(WsdServer::plugin_dir() + "/versioned_v1.so", plugin);
  WsdServer server({"worker_num: 1\nplugins:\n  - name: versioned\n    file: " + plugin + "\n    default: true\n"});
  REQUIRE_MESSAGE(server.started(), server.log());
  WsClient c;
  REQUIRE(c.open(server.port(), "/"));
  install_plugin(WsdServer::plugin_dir() + "/bad_abi.so", plugin);
  kill(server.pid(), SIGHUP);
  for (int i = 0; i < 100 && server.log().find("reload stopped") == std::string::npos; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  CHECK(server.log().find("reload stopped") != std::string::npos);
  REQUIRE(c.send_text("still"));
  CHECK(receive_text(c) == "v1:still");
  fs::remove_all(dir);
}
