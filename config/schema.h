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
  Listener first;                 // the listener keys given at the top level
  YAML::Node listeners;           // the `listeners:` value, if given
  YAML::Node plugins;             // the `plugins:` value, if given
  YAML::Node cluster;             // the `cluster:` value, if given
  bool plugin_dir_given = false;
  // The top-level trusted_proxies had an error (reported): the listeners that
  // inherit it are not checked against it.
  bool trusted_proxies_invalid = false;
};

// Reads the top-level map (every key but the lists' contents) into `draft`.
void read_options(Context& ctx, const YAML::Node& root, Draft& draft);

// The keys of one listener (also valid at the top level, for the first;
// there trusted_proxies is Config's, the default of every listener).
const std::vector<Key<Listener>>& listener_keys();

// A list of trusted proxy addresses / CIDRs, each checked with
// core::TrustedProxies::add. Stores into `out` only if every entry is valid.
bool read_trusted_proxies(Context& ctx, const YAML::Node& v, const std::string& key, std::vector<std::string>& out);

// Builds config.listeners: the first from the top level, then `listeners:`.
void read_listeners(Context& ctx, const YAML::Node& root, Draft& draft);

// Builds config.plugins from `plugins:`, resolving files and checking names,
// paths and the default.
void read_plugins(Context& ctx, Draft& draft);

// Builds config.cluster from `cluster:` (left disabled when absent).
void read_cluster(Context& ctx, Draft& draft);

// Applies "key=value" overrides to `root` (a map). Malformed ones, and paths
// that lead nowhere, are reported.
void apply_overrides(Context& ctx, YAML::Node& root, const std::vector<std::string>& overrides);

// <folder of the running executable>/../plugins and .../../lib/wsd/plugins.
std::vector<std::string> default_plugin_dirs();

}  // namespace wsd::config
