#include "bench/loadgen/options.h"

#include <getopt.h>

#include <cerrno>
#include <cstdlib>
#include <limits>
#include <sstream>

#include "bench/loadgen/payload.h"

namespace wsd::loadgen {

namespace {

enum Flag : int {
  kHost = 1000, kPort, kPath, kMode, kConnections, kDepth, kSize, kBinary, kThreads,
  kWarmup, kDuration, kTimeout, kConnectRate, kSourceAddrs, kServerPid, kServerPids,
  kPublishUrl, kPublishWs, kPublishPort, kRate, kSlowLog, kSlowUs, kHelp,
};

const option kLongOptions[] = {
    {"host", required_argument, nullptr, kHost},
    {"port", required_argument, nullptr, kPort},
    {"path", required_argument, nullptr, kPath},
    {"mode", required_argument, nullptr, kMode},
    {"connections", required_argument, nullptr, kConnections},
    {"depth", required_argument, nullptr, kDepth},
    {"size", required_argument, nullptr, kSize},
    {"binary", no_argument, nullptr, kBinary},
    {"threads", required_argument, nullptr, kThreads},
    {"warmup", required_argument, nullptr, kWarmup},
    {"duration", required_argument, nullptr, kDuration},
    {"timeout", required_argument, nullptr, kTimeout},
    {"connect-rate", required_argument, nullptr, kConnectRate},
    {"source-addrs", required_argument, nullptr, kSourceAddrs},
    {"server-pid", required_argument, nullptr, kServerPid},
    {"server-pids", required_argument, nullptr, kServerPids},
    {"publish-url", required_argument, nullptr, kPublishUrl},
    {"publish-ws", no_argument, nullptr, kPublishWs},
    {"publish-port", required_argument, nullptr, kPublishPort},
    {"rate", required_argument, nullptr, kRate},
    {"slow-log", required_argument, nullptr, kSlowLog},
    {"slow-us", required_argument, nullptr, kSlowUs},
    {"help", no_argument, nullptr, kHelp},
    {nullptr, 0, nullptr, 0},
};

bool parse_uint(const char* text, uint64_t max, uint64_t& out) {
  char* end;
  errno = 0;
  const unsigned long long v = std::strtoull(text, &end, 10);
  if (errno || end == text || *end || text[0] == '-' || v > max) return false;
  out = v;
  return true;
}

bool parse_seconds(const char* text, double& out) {
  char* end;
  const double v = std::strtod(text, &end);
  if (end == text || *end || !(v >= 0)) return false;
  out = v;
  return true;
}

bool parse_pids(const char* text, std::vector<pid_t>& out) {
  std::stringstream in(text);
  std::string item;
  while (std::getline(in, item, ',')) {
    uint64_t v;
    if (!parse_uint(item.c_str(), std::numeric_limits<pid_t>::max(), v) || v == 0) return false;
    out.push_back(static_cast<pid_t>(v));
  }
  return !out.empty();
}

// Applies one flag; returns an error message or "".
std::string apply(int flag, const char* arg, Options& o) {
  uint64_t v = 0;
  const std::string bad = std::string("invalid value '") + (arg ? arg : "") + "' for ";
  switch (flag) {
    case kHost: o.host = arg; return "";
    case kPort:
      if (!parse_uint(arg, 65535, v) || v == 0) return bad + "--port";
      o.port = static_cast<uint16_t>(v);
      return "";
    case kPath:
      if (arg[0] != '/') return bad + "--path (must start with /)";
      o.path = arg;
      return "";
    case kMode:
      if (std::string_view(arg) == "echo") o.mode = ModeKind::Echo;
      else if (std::string_view(arg) == "idle") o.mode = ModeKind::Idle;
      else if (std::string_view(arg) == "broadcast") o.mode = ModeKind::Broadcast;
      else return bad + "--mode (echo, idle or broadcast)";
      return "";
    case kConnections:
      if (!parse_uint(arg, 10000000, v) || v == 0) return bad + "--connections";
      o.connections = static_cast<uint32_t>(v);
      return "";
    case kDepth:
      if (!parse_uint(arg, 1000000, v) || v == 0) return bad + "--depth";
      o.depth = static_cast<uint32_t>(v);
      return "";
    case kSize:
      if (!parse_uint(arg, 1u << 30, v)) return bad + "--size";
      o.size = static_cast<uint32_t>(v);
      return "";
    case kBinary: o.binary = true; return "";
    case kThreads:
      if (!parse_uint(arg, 1024, v) || v == 0) return bad + "--threads";
      o.threads = static_cast<uint32_t>(v);
      return "";
    case kWarmup: return parse_seconds(arg, o.warmup_s) ? "" : bad + "--warmup";
    case kDuration: return parse_seconds(arg, o.duration_s) ? "" : bad + "--duration";
    case kTimeout: return parse_seconds(arg, o.timeout_s) && o.timeout_s > 0 ? "" : bad + "--timeout";
    case kConnectRate: return parse_seconds(arg, o.connect_rate) ? "" : bad + "--connect-rate";
    case kRate: return parse_seconds(arg, o.publish_rate) ? "" : bad + "--rate";
    case kSourceAddrs:
      if (!parse_uint(arg, 1u << 20, v) || v == 0) return bad + "--source-addrs";
      o.source_addrs = static_cast<uint32_t>(v);
      return "";
    case kServerPid:
    case kServerPids:
      return parse_pids(arg, o.server_pids) ? "" : bad + "--server-pid(s)";
    case kPublishUrl:
      if (arg[0] != '/') return bad + "--publish-url (a path, e.g. '/?message=')";
      o.publish_url = arg;
      return "";
    case kPublishWs: o.publish_url.clear(); return "";
    case kSlowLog: o.slow_log = arg; return "";
    case kSlowUs: return parse_seconds(arg, o.slow_us) ? "" : bad + "--slow-us";
    case kPublishPort:
      if (!parse_uint(arg, 65535, v) || v == 0) return bad + "--publish-port";
      o.publish_port = static_cast<uint16_t>(v);
      return "";
  }
  return "unknown option";
}

std::string check(const Options& o) {
  if (o.mode == ModeKind::Echo && o.size < kEchoStampSize) {
    return "--size must be at least " + std::to_string(kEchoStampSize) +
           " in echo mode (each payload starts with its sequence number and send time)";
  }
  if (o.mode == ModeKind::Broadcast && !o.publish_url.empty() && o.size > 4096) {
    return "--size over 4096 does not fit a --publish-url request line";
  }
  if (o.threads > o.connections) return "--threads must not exceed --connections";
  if (!o.slow_log.empty() && o.mode != ModeKind::Echo) return "--slow-log is for echo mode";
  return "";
}

}  // namespace

const char* mode_name(ModeKind mode) {
  switch (mode) {
    case ModeKind::Echo: return "echo";
    case ModeKind::Idle: return "idle";
    case ModeKind::Broadcast: return "broadcast";
  }
  return "?";
}

std::optional<Options> parse_options(int argc, char** argv, std::string& error) {
  Options o;
  optind = 1;
  opterr = 0;  // our own message instead of getopt's
  int flag;
  while ((flag = getopt_long(argc, argv, "", kLongOptions, nullptr)) != -1) {
    if (flag == kHelp) {
      error.clear();
      return std::nullopt;
    }
    if (flag == '?') {
      error = std::string("unknown option or missing value: ") + argv[optind - 1];
      return std::nullopt;
    }
    error = apply(flag, optarg, o);
    if (!error.empty()) return std::nullopt;
  }
  if (optind < argc) {
    error = std::string("unexpected argument '") + argv[optind] + "'";
    return std::nullopt;
  }
  error = check(o);
  if (!error.empty()) return std::nullopt;
  return o;
}

const char* usage() {
  return R"(usage: wsd-loadgen --port PORT [--mode echo|idle|broadcast] [options]

Target
  --host ADDR          server address (default 127.0.0.1)
  --port PORT          server port (default 9501)
  --path PATH          URL path of the upgrade request (default /)
Load
  --mode MODE          echo (default), idle or broadcast
  --connections C      connections (broadcast: subscribers) (default 100)
  --depth D            echo: messages in flight per connection;
                       broadcast: broadcasts in flight (default 1)
  --size S             payload bytes (default 32; echo needs >= 24)
  --binary             binary frames (default text)
  --threads T          generator threads, one epoll loop each (default 1)
  --warmup SECONDS     traffic before the counted period (idle: settle time
                       before the "after" sample) (default 1)
  --duration SECONDS   the counted period (idle: how long to hold) (default 5)
  --timeout SECONDS    connect + handshake limit per connection (default 10)
  --connect-rate N     new connections per second, all threads; 0 = no ceiling
                       (default 20000; at most 512 handshakes pending at once)
  --source-addrs N     bind client sockets to 127.0.0.1 .. 127.0.0.N in turn,
                       for more than ~28k connections to one port (default 1)
Server accounting (optional; CPU per message and RSS need it)
  --server-pid PID     a server process; it and all its descendants are summed.
                       May be repeated.
  --server-pids A,B    the same, as a list
Broadcast
  --publish-ws         publish over a WebSocket connection (default)
  --publish-url PATH   publish with HTTP GET PATH<url-encoded message>,
                       e.g. '/?message='
  --publish-port P     the publisher connects to port P (another wsd node of a
                       cluster: cross-node fan-out); default --port
  --rate N             broadcasts per second; 0 = closed loop (default 0)
Diagnosis (echo)
  --slow-log FILE      write each counted round trip slower than --slow-us to
                       FILE: "end_ns trip_ns connection" per line, in order;
                       bench/slow_clusters.py groups them (at most
                       1,000,000 per thread)
  --slow-us US         the threshold of --slow-log (default 1000)

The last line of the output is machine-readable: RESULT key=value ...
)";
}

}  // namespace wsd::loadgen
