#include "config/context.h"

#include <filesystem>

namespace wsd::config {

namespace {

// True if `n` is `root` or lies anywhere under it.
bool contains(const YAML::Node& root, const YAML::Node& n) {
  if (root.is(n)) return true;
  if (!root.IsSequence() && !root.IsMap()) return false;
  for (const auto& item : root) {
    if (root.IsSequence() ? contains(item, n) : contains(item.first, n) || contains(item.second, n)) return true;
  }
  return false;
}

}  // namespace

Context::Context(std::string file, std::string base_dir, std::vector<std::string>& errors)
    : file_(std::move(file)), base_dir_(std::move(base_dir)), errors_(errors) {}

void Context::add_override(const YAML::Node& value, std::string path, std::string key) {
  overrides_.push_back({value, "--set " + path, std::move(key)});
}

int Context::line(const YAML::Node& n) const {
  if (!n.IsDefined() || origin(n)) return 0;
  YAML::Mark m = n.Mark();
  return m.is_null() ? 0 : m.line + 1;
}

const Context::Override* Context::origin(const YAML::Node& n) const {
  if (!n.IsDefined()) return nullptr;
  for (const Override& o : overrides_) {
    if (contains(o.value, n)) return &o;
  }
  return nullptr;
}

void Context::error(const YAML::Node& at, std::string_view key, std::string_view reason) {
  if (const Override* o = origin(at)) {
    error_at(o->label, key == o->key ? std::string_view() : key, reason);
    return;
  }
  int l = line(at);
  error_at(l > 0 ? file_ + ":" + std::to_string(l) : file_, key, reason);
}

void Context::error_at(std::string_view where, std::string_view key, std::string_view reason) {
  std::string e(where);
  if (!key.empty()) e.append(": ").append(key);
  e.append(": ").append(reason);
  errors_.push_back(std::move(e));
}

std::string describe(const YAML::Node& n) {
  if (!n.IsDefined() || n.IsNull()) return "nothing";
  if (n.IsSequence()) return "a list";
  if (n.IsMap()) return "a map";
  return "'" + n.Scalar() + "'";
}

std::string join_key(std::string_view prefix, std::string_view name) {
  if (prefix.empty()) return std::string(name);
  return std::string(prefix) + "." + std::string(name);
}

std::string item_key(std::string_view key, size_t i) {
  return std::string(key) + "[" + std::to_string(i) + "]";
}

std::string resolve_path(const std::string& path, const std::string& base_dir) {
  std::filesystem::path p(path);
  if (p.is_relative()) p = std::filesystem::path(base_dir) / p;
  return p.lexically_normal().string();
}

}  // namespace wsd::config
