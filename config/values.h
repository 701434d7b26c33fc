// Internal to config/: reading one option value. Each reader either stores
// into `out` and returns true, or reports why not through `ctx` (naming
// `key`) and returns false, leaving `out` alone.
#pragma once

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "config/context.h"

namespace wsd::config {

// A whole number in lo..hi ("must be at least lo" when hi is INT64_MAX).
bool read_int(Context& ctx, const YAML::Node& v, const std::string& key, int64_t lo, int64_t hi, int64_t& out);
// true or false (any case); yes/no/on/off are refused.
bool read_bool(Context& ctx, const YAML::Node& v, const std::string& key, bool& out);
// Any scalar; nothing (`key:` or `~`) reads as "".
bool read_string(Context& ctx, const YAML::Node& v, const std::string& key, std::string& out);
// A plain decimal number (no unit), at least `min`.
bool read_number(Context& ctx, const YAML::Node& v, const std::string& key, double min, double& out);
// parse_size in lo..hi bytes (no upper bound when hi is UINT64_MAX).
bool read_size(Context& ctx, const YAML::Node& v, const std::string& key, uint64_t lo, uint64_t hi, uint64_t& out);
// parse_duration, at least `min` seconds (greater than `min` if `exclusive`).
bool read_duration(Context& ctx, const YAML::Node& v, const std::string& key, double min, bool exclusive,
                   double& out);
// A list of strings; a single string is a list of one, nothing an empty list.
bool read_strings(Context& ctx, const YAML::Node& v, const std::string& key, std::vector<std::string>& out);
// One of `names` (ignoring case); `out` is its index.
bool read_choice(Context& ctx, const YAML::Node& v, const std::string& key, const std::vector<std::string_view>& names,
                 size_t& out);

}  // namespace wsd::config
