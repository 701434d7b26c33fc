// Internal to config/: a table of the keys a YAML map may hold, and the walk
// that checks a map against it (unknown keys with a suggestion, keys given
// twice) and hands each value to its reader.
#pragma once

#include <yaml-cpp/yaml.h>

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "config/context.h"

namespace wsd::config {

template <class T>
struct Key {
  const char* name;
  // Reads `value`, the value of `key` (the full path, "listeners[0].port"),
  // into `target`, reporting problems through the context.
  std::function<void(Context& ctx, const YAML::Node& value, const std::string& key, T& target)> read;
};

// Checks one map entry: its key is a name, known (else "unknown option",
// with a suggestion from `names`) and not seen before. Returns the index in
// `names`, or -1 after reporting.
int check_key(Context& ctx, const YAML::Node& key, const YAML::Node& value, std::string_view prefix,
              const std::vector<std::string_view>& names, std::vector<int>& first_lines);

// Reads every entry of `map` with `keys`. A value that is not a map is
// reported (naming `prefix`) and nothing is read.
template <class T>
void read_map(Context& ctx, const YAML::Node& map, std::string_view prefix, const std::vector<Key<T>>& keys,
              T& target) {
  if (!map.IsMap()) {
    ctx.error(map, prefix, "expected a map, got " + describe(map));
    return;
  }
  std::vector<std::string_view> names;
  for (const Key<T>& k : keys) names.push_back(k.name);
  std::vector<int> first_lines(keys.size(), -1);
  for (const auto& entry : map) {
    int i = check_key(ctx, entry.first, entry.second, prefix, names, first_lines);
    if (i < 0) continue;
    const Key<T>& k = keys[static_cast<size_t>(i)];
    k.read(ctx, entry.second, join_key(prefix, k.name), target);
  }
}

}  // namespace wsd::config
