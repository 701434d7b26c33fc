// Sockets of the generator: address lookup, non-blocking connect from a
// chosen source address, and the descriptor limit.
#pragma once

#include <netinet/in.h>

#include <cstdint>
#include <string>
#include <vector>

namespace wsd::loadgen {

// IPv4 only: a literal or a name resolved once at start.
bool resolve_ipv4(const std::string& host, uint16_t port, sockaddr_in& out, std::string& error);

// Source addresses 127.0.0.1, 127.0.0.2, ... (`count` of them); empty when
// count <= 1 (the kernel picks the source).
std::vector<sockaddr_in> loopback_sources(uint32_t count);

// Starts a non-blocking TCP connect (TCP_NODELAY set). Returns the socket, or
// -1 with `err` = errno. `connected` is true when it completed at once.
int connect_nonblocking(const sockaddr_in& dst, const sockaddr_in* src, int& err, bool& connected);

// Raises RLIMIT_NOFILE to the hard limit; returns the new soft limit.
uint64_t raise_fd_limit();

}  // namespace wsd::loadgen
