// Plugins: each `plugins:` entry names a .so, the URL paths it serves and its
// own config subtree. Files are resolved here so that a missing one is a
// config error, not a start-up failure.
#include <limits.h>
#include <unistd.h>

#include <filesystem>

#include "config/schema.h"
#include "config/values.h"

namespace wsd::config {

namespace {

namespace fs = std::filesystem;
using P = Key<Plugin>;

bool is_file(const std::string& path) {
  std::error_code ec;
  return fs::is_regular_file(path, ec);
}

// Paths must start with '/'.
void read_paths(Context& ctx, const YAML::Node& v, const std::string& key, Plugin& p) {
  if (!read_strings(ctx, v, key, p.paths)) return;
  for (size_t i = 0; i < p.paths.size(); ++i) {
    if (p.paths[i].empty() || p.paths[i][0] != '/') {
      ctx.error(v.IsSequence() ? v[i] : v, item_key(key, i), "must start with '/' (got '" + p.paths[i] + "')");
    }
  }
}

std::vector<P> build_keys() {
  return {
      {"name", [](Context& ctx, const YAML::Node& v, const std::string& key, Plugin& p) {
         read_string(ctx, v, key, p.name);
       }},
      {"file", [](Context& ctx, const YAML::Node& v, const std::string& key, Plugin& p) {
         read_string(ctx, v, key, p.file);
       }},
      {"paths", read_paths},
      {"default", [](Context& ctx, const YAML::Node& v, const std::string& key, Plugin& p) {
         read_bool(ctx, v, key, p.is_default);
       }},
      // Any subtree, kept as YAML text for the plugin to parse.
      {"config", [](Context&, const YAML::Node& v, const std::string&, Plugin& p) {
         p.config_yaml = v.IsNull() ? "" : YAML::Dump(v);
       }},
  };
}

const std::vector<P>& plugin_keys() {
  static const std::vector<P> keys = build_keys();
  return keys;
}

// Finds `file`: absolute as is; relative against the config's folder; then,
// for a bare name, in each plugin_dir. "" when not found; `looked` lists the
// folders tried.
std::string find_file(const std::string& file, const Context& ctx, const std::vector<std::string>& dirs,
                      std::vector<std::string>& looked) {
  std::string first = resolve_path(file, ctx.base_dir());
  if (is_file(first)) return first;
  looked.push_back(fs::path(first).parent_path().string());
  if (file.find('/') != std::string::npos) return "";
  for (const std::string& dir : dirs) {
    std::string candidate = resolve_path(file, dir);
    if (is_file(candidate)) return candidate;
    looked.push_back(dir);
  }
  return "";
}

void resolve_file(Context& ctx, const YAML::Node& entry, const std::string& key, const Draft& draft, Plugin& p) {
  std::vector<std::string> looked;
  std::string found = find_file(p.file, ctx, draft.config.plugin_dir, looked);
  if (!found.empty()) {
    p.file = found;
    return;
  }
  std::string where;
  for (const std::string& dir : looked) where.append(where.empty() ? "" : ", ").append(dir);
  ctx.error(entry["file"], join_key(key, "file"), "no such file: " + p.file + " (looked in: " + where + ")");
}

bool read_entry(Context& ctx, const YAML::Node& entry, const std::string& key, const Draft& draft, Plugin& p) {
  if (!entry.IsMap()) {
    ctx.error(entry, key, "expected a map (name, file, paths, default, config), got " + describe(entry));
    return false;
  }
  p.line = ctx.line(entry);
  read_map(ctx, entry, key, plugin_keys(), p);
  for (const char* required : {"name", "file"}) {
    if (!entry[required]) ctx.error(entry, join_key(key, required), "missing (each plugin needs one)");
  }
  if (entry["name"] && p.name.empty()) ctx.error(entry["name"], join_key(key, "name"), "must not be empty");
  if (!p.file.empty()) resolve_file(ctx, entry, key, draft, p);
  return true;
}

// Names unique, one default at most, each path claimed once.
void check_against(Context& ctx, const YAML::Node& entry, const std::string& key, const Plugin& p,
                   const std::vector<Plugin>& before) {
  for (size_t j = 0; j < before.size(); ++j) {
    const Plugin& other = before[j];
    std::string by = item_key("plugins", j) + " '" + other.name + "'" +
                     (other.line ? " (line " + std::to_string(other.line) + ")" : "");
    if (!p.name.empty() && other.name == p.name) {
      ctx.error(entry["name"], join_key(key, "name"), "'" + p.name + "' is already the name of " + by);
    }
    if (p.is_default && other.is_default) {
      ctx.error(entry["default"], join_key(key, "default"), "only one plugin may be the default, and " + by + " is");
    }
    const YAML::Node paths = entry["paths"];
    for (size_t i = 0; i < p.paths.size(); ++i) {
      for (const std::string& path : other.paths) {
        if (path != p.paths[i]) continue;
        ctx.error(paths.IsSequence() ? paths[i] : paths, item_key(join_key(key, "paths"), i),
                  "'" + path + "' is already served by " + by);
      }
    }
  }
}

}  // namespace

void read_plugins(Context& ctx, Draft& draft) {
  const YAML::Node& list = draft.plugins;
  if (!list || list.IsNull()) return;
  if (!list.IsSequence()) {
    ctx.error(list, "plugins", "expected a list of plugins, got " + describe(list));
    return;
  }
  for (size_t i = 0; i < list.size(); ++i) {
    Plugin p;
    std::string key = item_key("plugins", i);
    if (!read_entry(ctx, list[i], key, draft, p)) continue;
    check_against(ctx, list[i], key, p, draft.config.plugins);
    draft.config.plugins.push_back(std::move(p));
  }
}

std::vector<std::string> default_plugin_dirs() {
  char buf[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) return {};
  fs::path dir = fs::path(std::string(buf, static_cast<size_t>(n))).parent_path();
  return {(dir / ".." / "plugins").lexically_normal().string(),
          (dir / ".." / "lib" / "wsd" / "plugins").lexically_normal().string()};
}

}  // namespace wsd::config
