// Listening sockets: bound, listening, non-blocking, close-on-exec.
#pragma once

#include <netinet/in.h>

#include <cstdint>
#include <string>

namespace wsd::daemon {

// Binds host:port (a numeric address or a name; port 0 = ephemeral) and
// listens; -1 with `error` on failure. `reuseport`: BASE mode's one socket
// per worker on the same port.
int make_listener(const std::string& host, uint16_t port, bool reuseport, std::string& error);

// The port a bound socket got (the real one when 0 was asked for).
uint16_t bound_port(int fd);

// accept4 (non-blocking, close-on-exec) that cannot spin: when the process
// is out of file descriptors the pending connection would keep the listener
// readable forever, so a spare descriptor kept for the purpose is given up,
// the connection accepted and closed at once, and the spare taken again.
// Returns the fd, or -1 (errno EAGAIN when nothing is pending; EMFILE when
// one connection was shed). One spare per process: call from one thread.
int accept_client(int listen_fd, sockaddr_in6* peer);

}  // namespace wsd::daemon
