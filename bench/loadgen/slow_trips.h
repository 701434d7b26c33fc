// Echo round trips slower than --slow-us, each with the time it ended and the
// connection it belongs to: enough to tell one stalled server process (the
// same share of connections, all late together) from a stalled loop (every
// connection late) or from a spread-out tail. bench/slow_clusters.py reads
// the file --slow-log writes.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace wsd::loadgen {

struct SlowTrip {
  uint64_t end_ns;   // when the echo was read (CLOCK_MONOTONIC)
  uint64_t trip_ns;  // its round trip
  uint32_t conn;     // the connection's index in the run
};

// One per generator thread; bounded so that a pathological run cannot eat
// the machine's memory.
class SlowTrips {
 public:
  static constexpr size_t kMaxPerThread = 1'000'000;

  void record(uint64_t end_ns, uint64_t trip_ns, uint32_t conn) {
    if (trips_.size() < kMaxPerThread) trips_.push_back({end_ns, trip_ns, conn});
  }
  const std::vector<SlowTrip>& trips() const { return trips_; }

 private:
  std::vector<SlowTrip> trips_;
};

// Writes every thread's trips, in the order they ended, one per line:
// "end_ns trip_ns conn". False (with `error`) when the file cannot be written.
bool write_slow_trips(const std::string& path, const std::vector<const SlowTrips*>& threads,
                      std::string& error);

}  // namespace wsd::loadgen
