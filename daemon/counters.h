// What a worker counts. Failed method calls are counted here instead of
// being logged (a plugin pushing to closed ids in a loop must not flood the
// log); the master's stats and /metrics read them.
#pragma once

#include <cstdint>

#include "wsd/plugin.h"

namespace wsd::daemon {

struct WorkerCounters {
  uint64_t events = 0;            // events delivered to plugins
  uint64_t messages = 0;          // of which WebSocket messages
  uint64_t pushes = 0;            // push / push_frame calls that were sent on
  // Failed calls by reason: index = -wsd_result (1 = WSD_ERR_NO_CONNECTION ... 6 = WSD_ERR_NOT_SUPPORTED).
  uint64_t failed_calls[8] = {};

  // Counts a method's result and hands it back.
  int count(int result) {
    if (result < 0 && -result < 8) failed_calls[-result]++;
    return result;
  }
};

}  // namespace wsd::daemon
