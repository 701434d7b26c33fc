// What the reactors and workers need from the config, in the forms core/
// takes, built once at start.
#pragma once

#include <cstdint>

#include "config/config.h"
#include "core/handshake.h"
#include "core/http_request.h"
#include "core/message_reader.h"

namespace wsd::daemon {

struct Settings {
  const config::Config* config = nullptr;
  core::HttpLimits http;
  core::HandshakeConfig handshake;
  core::ReaderOptions reader;
  uint64_t package_max_length = 0;
  uint64_t buffer_output_size = 0;
  uint32_t max_connection = 0;
  int worker_num = 1;
  int reactor_num = 1;
  config::DispatchMode dispatch_mode = config::DispatchMode::Fixed;
  bool open_close_frame = false;
  bool open_ping_frame = false;
  bool open_pong_frame = false;
  double handshake_timeout = 10;
  double close_timeout = 5;        // wait for the client's close reply
};

Settings make_settings(const config::Config& config);

}  // namespace wsd::daemon
