// Which plugin serves a request path, and which events each plugin handles.
// The master learns the latter from the workers' Hello (it never loads plugin
// code itself); the paths come from the config.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"

namespace wsd::daemon {

// Capability bits a worker reports per plugin.
enum PluginCapability : uint8_t {
  kHasHandshake = 1 << 0,
  kHasBeforeHandshake = 1 << 1,
  kHasOpen = 1 << 2,
  kHasMessage = 1 << 3,
  kHasRequest = 1 << 4,
  kHasClose = 1 << 5,
  kHasDisconnect = 1 << 6,
};

constexpr int kNoPlugin = -1;

class Routes {
 public:
  explicit Routes(const std::vector<config::Plugin>& plugins);

  // The plugin for a path: the longest matching prefix (on a '/' boundary),
  // else the default plugin, else kNoPlugin.
  int route(std::string_view path) const;

  size_t plugin_count() const { return count_; }
  uint8_t capabilities(int plugin) const { return caps_[plugin].load(std::memory_order_acquire); }
  void set_capabilities(int plugin, uint8_t caps) { caps_[plugin].store(caps, std::memory_order_release); }

 private:
  struct Prefix {
    std::string path;
    int plugin;
  };
  std::vector<Prefix> prefixes_;   // longest first
  int default_plugin_ = kNoPlugin;
  size_t count_ = 0;
  std::atomic<uint8_t> caps_[256] = {};
};

}  // namespace wsd::daemon
