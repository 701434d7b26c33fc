#include "bench/loadgen/stats.h"

namespace wsd::loadgen {

const char* error_name(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::Connect: return "connect";
    case ErrorKind::Timeout: return "timeout";
    case ErrorKind::Handshake: return "handshake";
    case ErrorKind::Protocol: return "protocol";
    case ErrorKind::ServerClose: return "server_close";
    case ErrorKind::Reset: return "reset";
    case ErrorKind::Write: return "write";
    case ErrorKind::Mismatch: return "mismatch";
    case ErrorKind::Order: return "order";
    case ErrorKind::Lost: return "lost";
    case ErrorKind::Unexpected: return "unexpected";
    case ErrorKind::Publish: return "publish";
    case ErrorKind::Stall: return "stall";
    case ErrorKind::CloseTimeout: return "close_timeout";
    case ErrorKind::kCount: break;
  }
  return "?";
}

uint64_t Totals::error_total() const {
  uint64_t n = 0;
  for (uint64_t e : errors) n += e;
  return n;
}

Totals& Totals::operator+=(const Totals& o) {
  sent_msgs += o.sent_msgs;
  sent_bytes += o.sent_bytes;
  recv_msgs += o.recv_msgs;
  recv_bytes += o.recv_bytes;
  opened += o.opened;
  failed += o.failed;
  live += o.live;
  closed_clean += o.closed_clean;
  for (size_t i = 0; i < kErrorKinds; ++i) errors[i] += o.errors[i];
  return *this;
}

Totals Totals::operator-(const Totals& o) const {
  Totals d = *this;
  d.sent_msgs -= o.sent_msgs;
  d.sent_bytes -= o.sent_bytes;
  d.recv_msgs -= o.recv_msgs;
  d.recv_bytes -= o.recv_bytes;
  d.opened -= o.opened;
  d.failed -= o.failed;
  d.live -= o.live;
  d.closed_clean -= o.closed_clean;
  for (size_t i = 0; i < kErrorKinds; ++i) d.errors[i] -= o.errors[i];
  return d;
}

Totals ThreadStats::read() const {
  Totals t;
  t.sent_msgs = sent_msgs.get();
  t.sent_bytes = sent_bytes.get();
  t.recv_msgs = recv_msgs.get();
  t.recv_bytes = recv_bytes.get();
  t.opened = opened.get();
  t.failed = failed.get();
  t.live = live.get();
  t.closed_clean = closed_clean.get();
  for (size_t i = 0; i < kErrorKinds; ++i) t.errors[i] = errors[i].get();
  return t;
}

}  // namespace wsd::loadgen
