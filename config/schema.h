// Internal to config/: the stages of a load after parsing.
#pragma once

#include <yaml-cpp/yaml.h>

#include <string>
#include <vector>

#include "config/config.h"
#include "config/context.h"
#include "config/keys.h"

namespace wsd::config {

// The config being built. Lists that depend on other options (listeners,
// plugins) are kept as nodes and read once every plain option is known.
struct Draft {
  Config config;
  Listener first;                 // top-level host, port, ssl_cert_file, ssl_key_file
  YAML::Node listeners;           // the `listeners:` value, if given
  YAML::Node plugins;             // the `plugins:` value, if given
  bool plugin_dir_given = false;
};

// Reads the top-level map (every key but the lists' contents) into `draft`.
void read_options(Context& ctx, const YAML::Node& root, Draft& draft);

// The keys of one listener (also valid at the top level, for the first).
const std::vector<Key<Listener>>& listener_keys();

// Builds config.listeners: the first from the top level, then `listeners:`.
void read_listeners(Context& ctx, const YAML::Node& root, Draft& draft);

// Builds config.plugins from `plugins:`, resolving files and checking names,
// paths and the default.
void read_plugins(Context& ctx, Draft& draft);

// Applies "key=value" overrides to `root` (a map). Malformed ones, and paths
// that lead nowhere, are reported.
void apply_overrides(Context& ctx, YAML::Node& root, const std::vector<std::string>& overrides);

// <folder of the running executable>/../plugins and .../../lib/wsd/plugins.
std::vector<std::string> default_plugin_dirs();

}  // namespace wsd::config
