// What a mode (echo, idle, broadcast) does with connections. One Mode object
// serves all worker threads: it keeps per-thread state indexed by
// WorkerThread::index(), never shared mutable state without atomics.
#pragma once

#include <cstddef>
#include <cstdint>

#include "core/constants.h"

namespace wsd::loadgen {

class Connection;
class WorkerThread;

// The run, as the main thread steps it. Workers read it once per loop
// iteration.
enum class Phase : uint8_t {
  Connect,  // open the connections, no traffic
  Warmup,   // traffic, not counted
  Measure,  // traffic, latencies recorded (counters are diffed by the main thread)
  Stop,     // no new traffic; what is in flight still arrives
  Close,    // close handshake (1000) on every connection
  Exit,     // drop whatever is left and leave the loop
};

inline bool has_traffic(Phase p) { return p == Phase::Warmup || p == Phase::Measure; }

class Mode {
 public:
  virtual ~Mode() = default;
  // Traffic begins on an open connection (at Warmup, or when the connection
  // opens later).
  virtual void on_start(WorkerThread&, Connection&) {}
  // A complete data message. `data` is valid during the call only.
  virtual void on_message(WorkerThread& w, Connection& c, core::Opcode op,
                          const uint8_t* data, size_t len) = 0;
  // Once per loop iteration of every worker, after its events, before its
  // output is flushed.
  virtual void on_iteration(WorkerThread&) {}
  // Longest the worker may sleep in epoll_wait, in ms; -1 = no wish.
  virtual int wait_limit_ms(WorkerThread&) { return -1; }
};

}  // namespace wsd::loadgen
