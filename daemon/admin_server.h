// The admin listener: plain HTTP on the master's loop, off unless
// admin_port is set. GET /metrics answers Prometheus text; anything else
// 404 (or 405 for another method). One request per connection, bounded in
// size, count and time: whoever reaches it cannot hold the master.
#pragma once

#include <event2/event.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

namespace wsd::daemon {

class AdminServer {
 public:
  using Render = std::function<std::string()>;
  // Binds host:port (0 = ephemeral); null with `error` on failure.
  static std::unique_ptr<AdminServer> open(struct event_base* base, const std::string& host, uint16_t port,
                                           Render metrics, std::string& error);
  ~AdminServer();
  AdminServer(const AdminServer&) = delete;
  AdminServer& operator=(const AdminServer&) = delete;
  uint16_t port() const { return port_; }

 private:
  struct Client;
  AdminServer() = default;
  static void on_accept(evutil_socket_t fd, short, void* arg);
  static void on_client(evutil_socket_t fd, short what, void* arg);
  void answer(Client& c);
  void drop(Client* c);

  struct event_base* base_ = nullptr;
  int fd_ = -1;
  uint16_t port_ = 0;
  struct event* accept_ev_ = nullptr;
  Render metrics_;
  int clients_ = 0;
};

}  // namespace wsd::daemon
