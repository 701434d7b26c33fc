// Loading plugin .so files and checking them against our ABI. A plugin built
// for another ABI version, or without the entry point, is refused with a
// message naming the file and the reason.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "config/config.h"
#include "wsd/plugin.h"

namespace wsd::daemon {
class Worker;
}

struct wsd_ctx {
  wsd::daemon::Worker* worker;
  int index;                        // the plugin's position in the config
  const wsd_plugin* plugin;
  const wsd::config::Plugin* config;
  void* user = nullptr;
  YAML::Node config_tree;           // parsed `config:` subtree, for config_get
  // config_get's answers by dotted key (null: absent): looked up once, kept
  // alive for the worker's life (the config cannot change under a worker).
  std::map<std::string, std::unique_ptr<std::string>, std::less<>> config_values;
};

namespace wsd::daemon {

class Worker;

struct LoadedPlugin {
  void* handle = nullptr;
  wsd_ctx ctx{};
};

// dlopens every configured plugin. On failure returns false and sets `error`
// to "<file>: <reason>".
bool load_plugins(const std::vector<config::Plugin>& plugins, const wsd_api* api, Worker* worker,
                  std::vector<std::unique_ptr<LoadedPlugin>>& out, std::string& error);
void unload_plugins(std::vector<std::unique_ptr<LoadedPlugin>>& plugins);

// Capability bits (routes.h) of a loaded plugin, for the Hello message.
uint8_t plugin_capabilities(const wsd_plugin* p);

}  // namespace wsd::daemon
