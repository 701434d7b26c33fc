/* Answers every text message with "<VERSION>:<message>"; built twice (v1, v2)
   so that a test can swap the .so under a running server and reload. */
#include <stdio.h>

#include "wsd/plugin.h"

#ifndef PLUGIN_VERSION
#define PLUGIN_VERSION "v1"
#endif

static const wsd_api *api;

static void on_message(wsd_ctx *ctx, const wsd_frame *f) {
  char reply[256];
  int n = snprintf(reply, sizeof reply, "%s:%.*s", PLUGIN_VERSION, (int)(f->len > 200 ? 200 : f->len), f->data);
  api->push(ctx, f->conn, reply, (size_t)n, WSD_OPCODE_TEXT, WSD_FLAG_FIN);
}

static const wsd_plugin plugin = {
    .abi_version = WSD_PLUGIN_ABI_VERSION,
    .struct_size = sizeof(wsd_plugin),
    .name = "versioned",
    .on_message = on_message,
};

__attribute__((visibility("default"))) const wsd_plugin *wsd_plugin_entry(uint32_t v, const wsd_api *host) {
  if (v != WSD_PLUGIN_ABI_VERSION) return NULL;
  api = host;
  return &plugin;
}
