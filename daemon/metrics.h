// The admin listener's /metrics page: the shared stats as Prometheus text
// (exposition format 0.0.4).
#pragma once

#include <cstdint>
#include <string>

#include "daemon/stats.h"

namespace wsd::daemon {

// What only the master knows, beside the shared counters.
struct MasterView {
  uint64_t connections = 0;    // live now (the session table)
  int workers_alive = 0;
  bool reloading = false;
};

std::string render_metrics(const SharedStats& stats, const MasterView& view);

}  // namespace wsd::daemon
