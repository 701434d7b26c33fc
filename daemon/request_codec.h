// Carrying an HTTP request (with the peer's address) and an HTTP response
// over IPC, and turning a received request into the plugin ABI's view.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/http_request.h"
#include "wsd/plugin.h"

namespace wsd::daemon {

struct PeerInfo {
  std::string remote_ip;     // the client
  uint16_t remote_port = 0;
  uint16_t server_port = 0;
  std::string peer_ip;       // the TCP peer
  uint16_t peer_port = 0;
};

void encode_request(const core::HttpRequest& req, const PeerInfo& peer, std::string& out);

// A decoded request: wsd_request whose strings point into the IPC payload
// it was decoded from (valid while that payload is).
struct RequestView {
  wsd_request req{};
  std::vector<wsd_header> headers;
};
bool decode_request(std::string_view payload, uint64_t conn, RequestView& out);

struct HttpAnswer {
  int status = 0;
  bool ended = false;
  bool keep_alive = true;
  std::vector<core::HttpHeader> headers;
  std::string body;
};
void encode_answer(const HttpAnswer& answer, std::string& out);
bool decode_answer(std::string_view payload, HttpAnswer& out);

}  // namespace wsd::daemon
