/* A plugin built for another ABI version: wsd must refuse it and not start. */
#include "wsd/plugin.h"

static const wsd_plugin plugin = {
    .abi_version = WSD_PLUGIN_ABI_VERSION + 41,
    .struct_size = sizeof(wsd_plugin),
    .name = "bad_abi",
};

__attribute__((visibility("default"))) const wsd_plugin *wsd_plugin_entry(uint32_t v, const wsd_api *api) {
  (void)v;
  (void)api;
  return &plugin;
}
