#include "config/keys.h"

#include "config/suggest.h"

namespace wsd::config {

int check_key(Context& ctx, const YAML::Node& key, const YAML::Node& value, std::string_view prefix,
              const std::vector<std::string_view>& names, std::vector<int>& first_lines) {
  if (!key.IsScalar()) {
    ctx.error(key, prefix, "expected an option name, got " + describe(key));
    return -1;
  }
  const std::string& name = key.Scalar();
  // An override's value node is where it came from; the key node is not.
  const YAML::Node& at = ctx.line(value) == 0 ? value : key;
  for (size_t i = 0; i < names.size(); ++i) {
    if (name != names[i]) continue;
    if (first_lines[i] >= 0) {
      ctx.error(at, join_key(prefix, name), "given twice (first on line " + std::to_string(first_lines[i]) + ")");
      return -1;
    }
    first_lines[i] = ctx.line(key);
    return static_cast<int>(i);
  }
  std::string hint = suggest(name, names);
  ctx.error(at, join_key(prefix, name),
            "unknown option '" + name + "'" + (hint.empty() ? "" : " (did you mean '" + hint + "'?)"));
  return -1;
}

}  // namespace wsd::config
