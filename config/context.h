// Internal to config/: where a YAML node came from, and the error list.
#pragma once

#include <yaml-cpp/yaml.h>

#include <string>
#include <string_view>
#include <vector>

namespace wsd::config {

// One load: the file name used in messages, the folder relative paths
// resolve against, and the errors found so far. Errors point at a node:
// "<file>:<line>: <key>: <reason>", or "--set <key>: <reason>" when the node
// came from an override.
class Context {
 public:
  Context(std::string file, std::string base_dir, std::vector<std::string>& errors);

  const std::string& file() const { return file_; }
  const std::string& base_dir() const { return base_dir_; }

  // Records that `value` (and everything under it) came from `--set <path>`;
  // `key` is the path as errors name it ("listeners[1].port").
  void add_override(const YAML::Node& value, std::string path, std::string key);

  // 1-based line of `n` in the file; 0 for nodes not from the file.
  int line(const YAML::Node& n) const;

  void error(const YAML::Node& at, std::string_view key, std::string_view reason);
  // For problems with no node: "<where>: <key>: <reason>" (key may be empty).
  void error_at(std::string_view where, std::string_view key, std::string_view reason);
  size_t error_count() const { return errors_.size(); }

 private:
  struct Override {
    YAML::Node value;
    std::string label;  // "--set listeners.1.port"
    std::string key;    // "listeners[1].port"
  };
  const Override* origin(const YAML::Node& n) const;

  std::string file_;
  std::string base_dir_;
  std::vector<std::string>& errors_;
  std::vector<Override> overrides_;
};

// How a value reads in messages: 'abc', nothing, a list, a map.
std::string describe(const YAML::Node& n);

// "prefix.name", or "name" at the top level.
std::string join_key(std::string_view prefix, std::string_view name);
// "key[i]".
std::string item_key(std::string_view key, size_t i);

// `path` made absolute against `base_dir` (when relative) and normalized.
std::string resolve_path(const std::string& path, const std::string& base_dir);

}  // namespace wsd::config
