// Command-line options of wsd-loadgen; `usage()` documents each one.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace wsd::loadgen {

enum class ModeKind : uint8_t { Echo, Idle, Broadcast };
const char* mode_name(ModeKind mode);

struct Options {
  std::string host = "127.0.0.1";
  uint16_t port = 9501;
  std::string path = "/";
  ModeKind mode = ModeKind::Echo;
  uint32_t connections = 100;   // echo: clients; idle: held; broadcast: subscribers
  uint32_t depth = 1;           // echo: messages in flight per connection; broadcast: window
  uint32_t size = 32;           // payload bytes
  bool binary = false;          // binary frames instead of text
  uint32_t threads = 1;
  double warmup_s = 1;          // idle: settle time before the "after" sample
  double duration_s = 5;        // the counted period (idle: how long to hold)
  double timeout_s = 10;        // connect + handshake; also "no progress" while opening
  double connect_rate = 20000;  // new connections per second, all threads; 0 = no ceiling
  uint32_t source_addrs = 1;    // >1: bind to 127.0.0.1, .2, ... in turn
  std::vector<pid_t> server_pids;
  // Broadcast: the publisher is a WebSocket connection (default) or HTTP GETs
  // of publish_url followed by the URL-encoded message.
  std::string publish_url;
  uint16_t publish_port = 0;    // the publisher connects here (another node of a cluster); 0 = port
  double publish_rate = 0;      // broadcasts per second; 0 = closed loop (window of --depth)
  // Echo: round trips slower than slow_us go to this file (empty: none).
  std::string slow_log;
  double slow_us = 1000;
};

// Parses argv. On error returns nullopt with `error` set; `--help` returns
// nullopt with an empty error.
std::optional<Options> parse_options(int argc, char** argv, std::string& error);
const char* usage();

}  // namespace wsd::loadgen
