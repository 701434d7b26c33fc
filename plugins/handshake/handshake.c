/*
 * The manual's custom handshake example: check Sec-WebSocket-Key the way it
 * does (the pattern #^[+/0-9A-Za-z]{21}[AQgw]==$# and 16 bytes decoded), answer
 * 101 with the accept key, then defer a welcome push, since with a custom
 * handshake the open event does not run.
 */
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "wsd/plugin.h"

static const wsd_api *api;

static int is_b64(char c) {
  return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '+' || c == '/';
}

/* #^[+/0-9A-Za-z]{21}[AQgw]==$# — 24 characters that decode to 16 bytes. */
static int key_is_valid(wsd_str key) {
  if (key.len != 24) return 0;
  for (int i = 0; i < 21; ++i)
    if (!is_b64(key.data[i])) return 0;
  char last = key.data[21];
  return (last == 'A' || last == 'Q' || last == 'g' || last == 'w') && key.data[22] == '=' && key.data[23] == '=';
}

static void accept_key(wsd_str key, char out[29]) {
  static const char guid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
  char buf[24 + sizeof guid];
  memcpy(buf, key.data, key.len);
  memcpy(buf + key.len, guid, sizeof guid - 1);
  unsigned char digest[SHA_DIGEST_LENGTH];
  SHA1((const unsigned char *)buf, key.len + sizeof guid - 1, digest);
  EVP_EncodeBlock((unsigned char *)out, digest, SHA_DIGEST_LENGTH);
}

static void welcome(wsd_ctx *ctx, void *arg) {
  wsd_conn_t *conn = arg;
  api->log(ctx, WSD_LOG_INFO, "Client connected");
  static const char text[] = "hello, welcome\n";
  api->push(ctx, *conn, text, sizeof text - 1, WSD_OPCODE_TEXT, WSD_FLAG_FIN);
  free(conn);
}

static void on_handshake(wsd_ctx *ctx, const wsd_request *req, wsd_response *resp) {
  wsd_str key = api->request_header(req, "Sec-WebSocket-Key");
  if (!key_is_valid(key)) {
    api->response_status(resp, 400);
    api->response_end(resp);
    return;
  }
  char accept[29];
  accept_key(key, accept);
  api->response_header(resp, "Upgrade", "websocket");
  api->response_header(resp, "Connection", "Upgrade");
  api->response_header(resp, "Sec-WebSocket-Accept", accept);
  api->response_header(resp, "Sec-WebSocket-Version", "13");
  wsd_str proto = api->request_header(req, "Sec-WebSocket-Protocol");
  if (proto.data) {
    /* The manual echoes what the client offered; the first offer is the safe pick. */
    char first[128];
    size_t n = 0;
    while (n < proto.len && n < sizeof first - 1 && proto.data[n] != ',') ++n;
    memcpy(first, proto.data, n);
    first[n] = '\0';
    api->response_header(resp, "Sec-WebSocket-Protocol", first);
  }
  api->response_status(resp, 101);
  api->response_end(resp);

  wsd_conn_t *conn = malloc(sizeof *conn);
  if (!conn) return;
  *conn = req->conn;
  api->defer(ctx, welcome, conn);
}

static void on_message(wsd_ctx *ctx, const wsd_frame *frame) {
  if (frame->opcode == WSD_OPCODE_TEXT || frame->opcode == WSD_OPCODE_BINARY)
    api->push(ctx, frame->conn, frame->data, frame->len, frame->opcode, WSD_FLAG_FIN);
}

static const wsd_plugin handshake_plugin = {
    .abi_version = WSD_PLUGIN_ABI_VERSION,
    .struct_size = sizeof(wsd_plugin),
    .name = "handshake",
    .on_handshake = on_handshake,
    .on_message = on_message,
};

__attribute__((visibility("default"))) const wsd_plugin *wsd_plugin_entry(uint32_t host_abi_version,
                                                                         const wsd_api *host_api) {
  if (host_abi_version != WSD_PLUGIN_ABI_VERSION) return NULL;
  api = host_api;
  return &handshake_plugin;
}
