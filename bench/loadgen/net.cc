#include "bench/loadgen/net.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/tcp.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace wsd::loadgen {

bool resolve_ipv4(const std::string& host, uint16_t port, sockaddr_in& out, std::string& error) {
  addrinfo hints{};
  hints.ai_family = AF_INET;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  const int rc = getaddrinfo(host.c_str(), nullptr, &hints, &res);
  if (rc != 0 || !res) {
    error = "cannot resolve '" + host + "': " + gai_strerror(rc);
    return false;
  }
  std::memcpy(&out, res->ai_addr, sizeof out);
  out.sin_port = htons(port);
  freeaddrinfo(res);
  return true;
}

std::vector<sockaddr_in> loopback_sources(uint32_t count) {
  std::vector<sockaddr_in> out;
  if (count <= 1) return out;
  for (uint32_t i = 0; i < count; ++i) {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK + i);  // 127.0.0.1 + i
    out.push_back(a);
  }
  return out;
}

int connect_nonblocking(const sockaddr_in& dst, const sockaddr_in* src, int& err, bool& connected) {
  connected = false;
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    err = errno;
    return -1;
  }
  const int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (src) {
    // Defer the port choice to connect(), which then needs the 4-tuple to be
    // unique rather than the port: ~28k connections per source address and
    // destination instead of per source address.
    setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
    if (bind(fd, reinterpret_cast<const sockaddr*>(src), sizeof *src) != 0) {
      err = errno;
      close(fd);
      return -1;
    }
  }
  if (connect(fd, reinterpret_cast<const sockaddr*>(&dst), sizeof dst) == 0) {
    connected = true;
  } else if (errno != EINPROGRESS) {
    err = errno;
    close(fd);
    return -1;
  }
  return fd;
}

uint64_t raise_fd_limit() {
  rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0) return 0;
  if (rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
    getrlimit(RLIMIT_NOFILE, &rl);
  }
  return rl.rlim_cur;
}

}  // namespace wsd::loadgen
