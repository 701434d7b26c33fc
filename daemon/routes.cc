#include "daemon/routes.h"

#include <algorithm>

namespace wsd::daemon {

Routes::Routes(const std::vector<config::Plugin>& plugins) : count_(plugins.size()) {
  for (size_t i = 0; i < plugins.size(); ++i) {
    if (plugins[i].is_default) default_plugin_ = static_cast<int>(i);
    for (const std::string& p : plugins[i].paths) prefixes_.push_back({p, static_cast<int>(i)});
  }
  std::stable_sort(prefixes_.begin(), prefixes_.end(),
                   [](const Prefix& a, const Prefix& b) { return a.path.size() > b.path.size(); });
}

int Routes::route(std::string_view path) const {
  for (const Prefix& p : prefixes_) {
    if (!path.starts_with(p.path)) continue;
    // "/chat" serves "/chat" and "/chat/x", not "/chatter".
    if (path.size() == p.path.size() || p.path.ends_with('/') || path[p.path.size()] == '/')
      return p.plugin;
  }
  return default_plugin_;
}

}  // namespace wsd::daemon
