#include "daemon/plugin_host.h"

#include <dlfcn.h>

#include "daemon/routes.h"

namespace wsd::daemon {

namespace {
bool load_one(const config::Plugin& conf, int index, const wsd_api* api, Worker* worker, LoadedPlugin& out,
              std::string& error) {
  // RTLD_LOCAL: two plugins may use the same symbol names without clashing.
  void* handle = dlopen(conf.file.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!handle) {
    error = conf.file + ": cannot load: " + dlerror();
    return false;
  }
  auto entry = reinterpret_cast<wsd_plugin_entry_fn>(dlsym(handle, WSD_PLUGIN_ENTRY_SYMBOL));
  if (!entry) {
    error = conf.file + ": no entry point '" WSD_PLUGIN_ENTRY_SYMBOL "' (is it a wsd plugin?)";
    dlclose(handle);
    return false;
  }
  const wsd_plugin* p = entry(WSD_PLUGIN_ABI_VERSION, api);
  if (!p) {
    error = conf.file + ": the plugin refused to load (its entry point returned NULL)";
    dlclose(handle);
    return false;
  }
  if (p->abi_version != WSD_PLUGIN_ABI_VERSION) {
    error = conf.file + ": built for plugin ABI version " + std::to_string(p->abi_version) +
            ", this wsd has version " + std::to_string(WSD_PLUGIN_ABI_VERSION) + "; rebuild it against this wsd's headers";
    dlclose(handle);
    return false;
  }
  if (p->struct_size < sizeof(wsd_plugin)) {
    error = conf.file + ": its wsd_plugin struct is smaller than this ABI's (" + std::to_string(p->struct_size) +
            " < " + std::to_string(sizeof(wsd_plugin)) + ")";
    dlclose(handle);
    return false;
  }
  out.handle = handle;
  out.ctx.worker = worker;
  out.ctx.index = index;
  out.ctx.plugin = p;
  out.ctx.config = &conf;
  try {
    out.ctx.config_tree = YAML::Load(conf.config_yaml);
  } catch (const YAML::Exception&) {
    out.ctx.config_tree = YAML::Node();
  }
  return true;
}
}  // namespace

bool load_plugins(const std::vector<config::Plugin>& plugins, const wsd_api* api, Worker* worker,
                  std::vector<std::unique_ptr<LoadedPlugin>>& out, std::string& error) {
  for (size_t i = 0; i < plugins.size(); ++i) {
    auto lp = std::make_unique<LoadedPlugin>();
    if (!load_one(plugins[i], static_cast<int>(i), api, worker, *lp, error)) {
      unload_plugins(out);
      return false;
    }
    out.push_back(std::move(lp));
  }
  return true;
}

void unload_plugins(std::vector<std::unique_ptr<LoadedPlugin>>& plugins) {
  for (auto& p : plugins) {
    if (p->handle) dlclose(p->handle);
  }
  plugins.clear();
}

uint8_t plugin_capabilities(const wsd_plugin* p) {
  uint8_t caps = 0;
  if (p->on_handshake) caps |= kHasHandshake;
  if (p->on_before_handshake_response) caps |= kHasBeforeHandshake;
  if (p->on_open) caps |= kHasOpen;
  if (p->on_message) caps |= kHasMessage;
  if (p->on_request) caps |= kHasRequest;
  if (p->on_close) caps |= kHasClose;
  if (p->on_disconnect) caps |= kHasDisconnect;
  return caps;
}

}  // namespace wsd::daemon
