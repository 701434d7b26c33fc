#include "bench/loadgen/slow_trips.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>

namespace wsd::loadgen {

bool write_slow_trips(const std::string& path, const std::vector<const SlowTrips*>& threads,
                      std::string& error) {
  std::vector<SlowTrip> all;
  for (const SlowTrips* t : threads) all.insert(all.end(), t->trips().begin(), t->trips().end());
  std::sort(all.begin(), all.end(), [](const SlowTrip& a, const SlowTrip& b) { return a.end_ns < b.end_ns; });
  FILE* f = std::fopen(path.c_str(), "w");
  if (!f) {
    error = path + ": " + std::strerror(errno);
    return false;
  }
  for (const SlowTrip& t : all) {
    std::fprintf(f, "%llu %llu %u\n", static_cast<unsigned long long>(t.end_ns),
                 static_cast<unsigned long long>(t.trip_ns), t.conn);
  }
  if (std::fclose(f) != 0) {
    error = path + ": " + std::strerror(errno);
    return false;
  }
  return true;
}

}  // namespace wsd::loadgen
