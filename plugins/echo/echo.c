/*
 * The manual's first example, as a wsd plugin in C: log open, message and
 * close. By default every message goes back with its own opcode (so that
 * conformance suites can run against it); with `config: {reply: "this is
 * server"}` it answers the manual's fixed reply instead.
 */
#include <string.h>

#include "wsd/plugin.h"

static const wsd_api *api;

static void on_open(wsd_ctx *ctx, const wsd_request *req) {
  api->log(ctx, WSD_LOG_INFO, "server: handshake success with fd%llu", (unsigned long long)req->conn);
}

static void on_message(wsd_ctx *ctx, const wsd_frame *frame) {
  api->log(ctx, WSD_LOG_DEBUG, "receive from %llu:%.*s,opcode:%d,fin:%d", (unsigned long long)frame->conn,
           (int)(frame->len > 64 ? 64 : frame->len), frame->data, frame->opcode, frame->finish);
  if (frame->opcode == WSD_OPCODE_PING) {
    /* Delivered only with open_websocket_ping_frame: then answering is ours. */
    api->push(ctx, frame->conn, frame->data, frame->len, WSD_OPCODE_PONG, WSD_FLAG_FIN);
    return;
  }
  if (frame->opcode != WSD_OPCODE_TEXT && frame->opcode != WSD_OPCODE_BINARY) return;
  wsd_str reply = api->config_get(ctx, "reply");
  if (reply.len > 0) {
    api->push(ctx, frame->conn, reply.data, reply.len, WSD_OPCODE_TEXT, WSD_FLAG_FIN);
  } else {
    api->push(ctx, frame->conn, frame->data, frame->len, frame->opcode, WSD_FLAG_FIN | (frame->flags & WSD_FLAG_COMPRESS));
  }
}

static void on_close(wsd_ctx *ctx, const wsd_close_info *info) {
  api->log(ctx, WSD_LOG_INFO, "client %llu closed (%u%s)", (unsigned long long)info->conn, info->code,
           info->by_server ? ", by the server" : "");
}

static const wsd_plugin echo_plugin = {
    .abi_version = WSD_PLUGIN_ABI_VERSION,
    .struct_size = sizeof(wsd_plugin),
    .name = "echo",
    .on_open = on_open,
    .on_message = on_message,
    .on_close = on_close,
};

__attribute__((visibility("default"))) const wsd_plugin *wsd_plugin_entry(uint32_t host_abi_version,
                                                                         const wsd_api *host_api) {
  if (host_abi_version != WSD_PLUGIN_ABI_VERSION) return NULL;
  api = host_api;
  return &echo_plugin;
}
