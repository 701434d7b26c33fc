#include "daemon/stats.h"

#include <ctime>
#include <stdexcept>
#include <sys/mman.h>
#include <unistd.h>
#include <utility>

namespace wsd::daemon {

const char* handshake_failure_name(HandshakeFailure f) {
  switch (f) {
    case HandshakeFailure::BadRequest: return "bad_request";
    case HandshakeFailure::NotFound: return "not_found";
    case HandshakeFailure::Version: return "version";
    case HandshakeFailure::Origin: return "origin";
    case HandshakeFailure::Invalid: return "invalid";
    case HandshakeFailure::PluginRefused: return "plugin_refused";
    case HandshakeFailure::Timeout: return "timeout";
    case HandshakeFailure::ProxyHeader: return "proxy_header";
    case HandshakeFailure::Tls: return "tls";
    case HandshakeFailure::kCount: break;
  }
  return "unknown";
}

namespace {
StatsBlock* map_block(int fd) {
  void* p = mmap(nullptr, sizeof(StatsBlock), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (p == MAP_FAILED) throw std::runtime_error("mmap of the stats block failed");
  return static_cast<StatsBlock*>(p);
}
}  // namespace

SharedStats SharedStats::create(uint32_t worker_num, uint32_t reactor_count) {
  SharedStats s;
  s.fd_ = memfd_create("wsd-stats", 0);
  if (s.fd_ < 0) throw std::runtime_error("memfd_create failed");
  if (ftruncate(s.fd_, sizeof(StatsBlock)) != 0) throw std::runtime_error("ftruncate failed");
  s.block_ = map_block(s.fd_);  // memfd pages start zeroed: every counter is 0
  s.block_->start_time = static_cast<int64_t>(std::time(nullptr));
  s.block_->worker_num = worker_num;
  s.block_->reactor_count = reactor_count;
  return s;
}

SharedStats SharedStats::attach(int fd) {
  SharedStats s;
  s.fd_ = fd;
  s.block_ = map_block(fd);
  return s;
}

SharedStats::SharedStats(SharedStats&& o) noexcept { *this = std::move(o); }

SharedStats& SharedStats::operator=(SharedStats&& o) noexcept {
  std::swap(fd_, o.fd_);
  std::swap(block_, o.block_);
  return *this;
}

SharedStats::~SharedStats() {
  if (block_) munmap(block_, sizeof(StatsBlock));
  if (fd_ >= 0) close(fd_);
}

uint64_t SharedStats::sum(Counter ReactorStats::*field) const {
  uint64_t total = 0;
  for (uint32_t r = 0; r < block_->reactor_count; ++r) total += (block_->reactors[r].*field).get();
  return total;
}

uint64_t SharedStats::sum_failures(HandshakeFailure f) const {
  uint64_t total = 0;
  for (uint32_t r = 0; r < block_->reactor_count; ++r)
    total += block_->reactors[r].handshake_failures[static_cast<int>(f)].get();
  return total;
}

}  // namespace wsd::daemon
