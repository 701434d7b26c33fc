#include "daemon/admin_server.h"

#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <string_view>

#include "core/http_response.h"
#include "daemon/listen_socket.h"

namespace wsd::daemon {

namespace {
constexpr size_t kMaxRequest = 8 * 1024;   // a scrape's request is a few hundred bytes
constexpr int kMaxClients = 32;
constexpr timeval kClientTimeout{5, 0};
}  // namespace

struct AdminServer::Client {
  AdminServer* owner;
  int fd;
  struct event* ev = nullptr;
  std::string in;
  std::string out;
  size_t out_head = 0;
  bool answered = false;
};

std::unique_ptr<AdminServer> AdminServer::open(struct event_base* base, const std::string& host, uint16_t port,
                                               Render metrics, std::string& error) {
  int fd = make_listener(host, port, false, error);
  if (fd < 0) return nullptr;
  std::unique_ptr<AdminServer> s(new AdminServer());
  s->base_ = base;
  s->fd_ = fd;
  s->port_ = bound_port(fd);
  s->metrics_ = std::move(metrics);
  s->accept_ev_ = event_new(base, fd, EV_READ | EV_PERSIST, &AdminServer::on_accept, s.get());
  event_add(s->accept_ev_, nullptr);
  return s;
}

AdminServer::~AdminServer() {
  // Clients still open are abandoned with the loop; their fds close with the process.
  if (accept_ev_) event_free(accept_ev_);
  if (fd_ >= 0) close(fd_);
}

void AdminServer::on_accept(evutil_socket_t fd, short, void* arg) {
  auto* self = static_cast<AdminServer*>(arg);
  for (;;) {
    int cfd = accept4(fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (cfd < 0) return;   // EAGAIN, or an error that the next wake-up retries
    if (self->clients_ >= kMaxClients) {
      close(cfd);
      continue;
    }
    auto* c = new Client{self, cfd, nullptr, {}, {}, 0, false};
    self->clients_++;
    c->ev = event_new(self->base_, cfd, EV_READ | EV_PERSIST, &AdminServer::on_client, c);
    event_add(c->ev, &kClientTimeout);
  }
}

void AdminServer::on_client(evutil_socket_t, short what, void* arg) {
  auto* c = static_cast<Client*>(arg);
  AdminServer* self = c->owner;
  if (what & EV_TIMEOUT) return self->drop(c);
  if ((what & EV_READ) && !c->answered) {
    char buf[2048];
    ssize_t n = recv(c->fd, buf, sizeof buf, 0);
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) return self->drop(c);
    if (n > 0) c->in.append(buf, static_cast<size_t>(n));
    if (c->in.find("\r\n\r\n") == std::string::npos) {
      if (c->in.size() > kMaxRequest) return self->drop(c);
      return;
    }
    self->answer(*c);
  }
  while (c->out_head < c->out.size()) {
    ssize_t n = send(c->fd, c->out.data() + c->out_head, c->out.size() - c->out_head, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EAGAIN || errno == EINTR) return;   // EV_WRITE is armed
      return self->drop(c);
    }
    c->out_head += static_cast<size_t>(n);
  }
  if (c->answered) self->drop(c);
}

void AdminServer::answer(Client& c) {
  c.answered = true;
  std::string_view line(c.in.data(), c.in.find("\r\n"));
  std::string_view method = line.substr(0, line.find(' '));
  std::string_view rest = line.substr(std::min(line.size(), method.size() + 1));
  std::string_view target = rest.substr(0, rest.find(' '));
  std::string_view path = target.substr(0, target.find('?'));
  if (path != "/metrics") {
    c.out = core::http_error_response(404);
  } else if (method != "GET" && method != "HEAD") {
    c.out = core::http_error_response(405);
  } else {
    std::string body = metrics_();
    std::vector<core::HttpHeader> headers = {{"Content-Type", "text/plain; version=0.0.4; charset=utf-8"}};
    c.out = core::serialize_http_response(200, headers, body, false);
    if (method == "HEAD") c.out.resize(c.out.size() - body.size());
  }
  event_del(c.ev);
  event_assign(c.ev, base_, c.fd, EV_WRITE | EV_PERSIST, &AdminServer::on_client, &c);
  event_add(c.ev, &kClientTimeout);
}

void AdminServer::drop(Client* c) {
  event_free(c->ev);
  close(c->fd);
  clients_--;
  delete c;
}

}  // namespace wsd::daemon
