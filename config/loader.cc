// load_config_file / load_config_string: parse, apply overrides, read every
// option, then the lists that depend on them.
#include "config/loader.h"

#include <yaml-cpp/yaml.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "config/context.h"
#include "config/schema.h"

namespace wsd::config {

namespace {

namespace fs = std::filesystem;

// The document's root, or false after reporting a syntax error.
bool parse(Context& ctx, const std::string& yaml, YAML::Node& root) {
  try {
    root.reset(YAML::Load(yaml));
  } catch (const YAML::ParserException& e) {
    ctx.error_at(ctx.file() + ":" + std::to_string(e.mark.line + 1), "", "YAML syntax error: " + e.msg);
    return false;
  }
  if (root.IsNull()) root.reset(YAML::Node(YAML::NodeType::Map));  // an empty file: defaults
  if (!root.IsMap()) {
    ctx.error(root, "", "expected a map of options (key: value lines), got " + describe(root));
    return false;
  }
  return true;
}

LoadResult load(const std::string& yaml, const std::string& name, const std::string& base_dir,
                const std::vector<std::string>& overrides) {
  LoadResult result;
  Context ctx(name, fs::absolute(base_dir.empty() ? "." : base_dir).lexically_normal().string(), result.errors);
  YAML::Node root;
  if (!parse(ctx, yaml, root)) return result;
  try {
    apply_overrides(ctx, root, overrides);
    Draft draft;
    read_options(ctx, root, draft);
    read_listeners(ctx, root, draft);
    read_plugins(ctx, draft);
    read_cluster(ctx, draft);
    result.config = std::move(draft.config);
  } catch (const YAML::Exception& e) {
    // Not expected: the readers avoid yaml-cpp's throwing conversions.
    ctx.error_at(name, "", std::string("internal error: ") + e.what());
  }
  result.config.source_file = name;
  result.ok = result.errors.empty();
  return result;
}

}  // namespace

LoadResult load_config_file(const std::string& path, const std::vector<std::string>& overrides) {
  std::error_code ec;
  if (fs::is_directory(path, ec)) return {false, {}, {path + ": is a directory, not a config file"}};
  std::ifstream in(path, std::ios::binary);
  if (!in) return {false, {}, {path + ": cannot read: " + std::strerror(errno)}};
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) return {false, {}, {path + ": cannot read: " + std::strerror(errno)}};
  return load(text.str(), path, fs::path(path).parent_path().string(), overrides);
}

LoadResult load_config_string(const std::string& yaml, const std::string& name, const std::string& base_dir,
                              const std::vector<std::string>& overrides) {
  return load(yaml, name, base_dir, overrides);
}

}  // namespace wsd::config
