#include "daemon/listen_socket.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace wsd::daemon {

namespace {
constexpr int kListenBacklog = 4096;

// What an operator can do about a bind() that failed.
std::string listen_error_hint(int err, uint16_t port) {
  switch (err) {
    case EADDRINUSE:
      return "; another process listens there (`ss -ltnp` names it): stop it or choose another port";
    case EACCES:
      return port < 1024 ? "; ports below 1024 need root or CAP_NET_BIND_SERVICE (the systemd unit grants it)"
                         : "";
    case EADDRNOTAVAIL:
      return "; the host is not an address of this machine: set host to one of its addresses, or 0.0.0.0";
    default:
      return "";
  }
}
}  // namespace

int make_listener(const std::string& host, uint16_t port, bool reuseport, std::string& error) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* res = nullptr;
  std::string service = std::to_string(port);
  int rc = getaddrinfo(host.c_str(), service.c_str(), &hints, &res);
  if (rc != 0) {
    error = std::string(gai_strerror(rc)) + "; set host to an IP address of this machine (0.0.0.0 or :: for all)";
    return -1;
  }
  int fd = socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  // BASE mode: one socket per worker on the same port; the kernel spreads
  // connections over them.
  if (reuseport) setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
  if (bind(fd, res->ai_addr, res->ai_addrlen) != 0 || listen(fd, kListenBacklog) != 0) {
    error = std::strerror(errno) + listen_error_hint(errno, port);
    close(fd);
    freeaddrinfo(res);
    return -1;
  }
  freeaddrinfo(res);
  return fd;
}

int accept_client(int listen_fd, sockaddr_in6* peer) {
  static int spare = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  for (;;) {
    socklen_t len = sizeof *peer;
    int fd = accept4(listen_fd, reinterpret_cast<sockaddr*>(peer), &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd >= 0) return fd;
    if (errno == EINTR || errno == ECONNABORTED) continue;
    if ((errno != EMFILE && errno != ENFILE) || spare < 0) return -1;
    ::close(spare);
    fd = accept4(listen_fd, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd >= 0) ::close(fd);
    spare = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    errno = EMFILE;
    return -1;
  }
}

uint16_t bound_port(int fd) {
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len);
  if (ss.ss_family == AF_INET) return ntohs(reinterpret_cast<sockaddr_in*>(&ss)->sin_port);
  return ntohs(reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port);
}

}  // namespace wsd::daemon
