// What a worker counts, in its slot of the shared stats (daemon/stats.h).
// Failed method calls are counted instead of logged: a plugin pushing to
// closed ids in a loop must not flood the log; stats() and /metrics show them.
#pragma once

#include <cstddef>
#include <cstdint>

#include "daemon/stats.h"

namespace wsd::daemon {

class WorkerCounters {
 public:
  // Until attach(): a private block (a worker started without the master's).
  void attach(WorkerStats* shared) { s_ = shared; }
  void event() { s_->events.add(); }
  void message() { s_->messages.add(); }
  void push() { s_->pushes.add(); }
  void set_queue_bytes(size_t bytes) { s_->queue_bytes.set(bytes); }
  // Counts a method's result and hands it back.
  int count(int result) {
    if (result < 0) s_->failed_calls.add();
    return result;
  }

 private:
  WorkerStats own_;
  WorkerStats* s_ = &own_;
};

}  // namespace wsd::daemon
