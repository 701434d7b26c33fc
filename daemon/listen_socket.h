// Listening sockets: bound, listening, non-blocking, close-on-exec.
#pragma once

#include <cstdint>
#include <string>

namespace wsd::daemon {

// Binds host:port (a numeric address or a name; port 0 = ephemeral) and
// listens; -1 with `error` on failure. `reuseport`: BASE mode's one socket
// per worker on the same port.
int make_listener(const std::string& host, uint16_t port, bool reuseport, std::string& error);

// The port a bound socket got (the real one when 0 was asked for).
uint16_t bound_port(int fd);

}  // namespace wsd::daemon
