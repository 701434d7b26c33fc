// Shared by the config tests: a scratch folder and short-hands for loading.
#pragma once

#include <doctest/doctest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "config/loader.h"

namespace wsd::config::testing {

// A fresh folder under $TMPDIR, removed with the object.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "wsd-config-XXXXXX").string();
    path_ = mkdtemp(tmpl.data());
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  // Writes `content` to `name` (folders created) and returns the full path.
  std::string write(const std::string& name, const std::string& content = "") const {
    std::filesystem::path p = std::filesystem::path(path_) / name;
    std::filesystem::create_directories(p.parent_path());
    std::ofstream(p) << content;
    return p.string();
  }

 private:
  std::string path_;
};

inline LoadResult load(const std::string& yaml, const std::vector<std::string>& overrides = {},
                       const std::string& base_dir = "/nonexistent") {
  return load_config_string(yaml, "test.yaml", base_dir, overrides);
}

// The only error of `r` (fails the test if there are more or none).
inline std::string only_error(const LoadResult& r) {
  CHECK_FALSE(r.ok);
  REQUIRE(r.errors.size() == 1);
  return r.errors[0];
}

}  // namespace wsd::config::testing
