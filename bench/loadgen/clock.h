// The one clock of the generator: CLOCK_MONOTONIC in nanoseconds (vDSO, no
// system call). Payload timestamps use it too, so latencies are only valid
// between a sender and a receiver on the same machine.
#pragma once

#include <time.h>

#include <cstdint>

namespace wsd::loadgen {

inline uint64_t now_ns() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000u + static_cast<uint64_t>(ts.tv_nsec);
}

constexpr uint64_t kNsPerSec = 1000000000u;
constexpr uint64_t kNsPerMs = 1000000u;

}  // namespace wsd::loadgen
