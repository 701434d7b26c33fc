// Loading and validating server.yaml. Every error names the file, the line,
// the key and the reason, and is found before anything is bound.
#pragma once

#include <string>
#include <vector>

#include "config/config.h"

namespace wsd::config {

struct LoadResult {
  bool ok = false;
  Config config;
  // One line per problem: "server.yaml:12: worker_num: must be between 1 and 256 (got 0)"
  std::vector<std::string> errors;
};

// Reads `path`, applies `overrides` ("key=value", dotted keys for nested maps,
// values parsed as YAML scalars, validated exactly like the file), validates.
LoadResult load_config_file(const std::string& path, const std::vector<std::string>& overrides = {});

// Same, from YAML text (tests). `name` stands for the file name in messages;
// relative plugin files resolve against `base_dir`.
LoadResult load_config_string(const std::string& yaml, const std::string& name,
                              const std::string& base_dir,
                              const std::vector<std::string>& overrides = {});

// Every top-level option the loader accepts, in its table's order (the
// listener keys included). Tests check the documentation against it.
std::vector<std::string> option_names();

// "2M" → 2097152, "64K", "1G", plain numbers (bytes). false on junk.
bool parse_size(const std::string& text, uint64_t& out);
// "30s", "500ms", "2m", "1h", plain numbers (seconds). false on junk.
bool parse_duration(const std::string& text, double& out);

}  // namespace wsd::config
