// Output: human-readable lines, then one machine-readable last line,
// "RESULT key=value key=value ...". Values that could not be measured (no
// --server-pid) are "na".
#pragma once

#include <cstdint>
#include <string>

#include "bench/loadgen/histogram.h"
#include "bench/loadgen/runner.h"
#include "bench/loadgen/stats.h"

namespace wsd::loadgen {

class ResultLine {
 public:
  explicit ResultLine(const char* mode);
  ResultLine& add(const char* key, uint64_t value);
  ResultLine& add(const char* key, double value, int decimals);
  ResultLine& add_na(const char* key);
  void print() const;

 private:
  std::string line_;
};

// "ws://host:port/path"
std::string target_url(const Options& o);
// Latency line: p50, p99, p99.9, max, mean, in microseconds.
void print_latency(const char* label, const Histogram& h);
// Server and client CPU, per event and as a share of one core.
void print_cpu(const Runner& r, const Interval& iv, const ProcSample& server, uint64_t events,
               const char* per);
// "errors 0", or the total and each kind that occurred.
void print_errors(const Totals& t);
void add_latency(ResultLine& line, const Histogram& h);
void add_cpu(ResultLine& line, const Runner& r, const Interval& iv, uint64_t events,
             const char* server_key, const char* client_key);
double us(uint64_t ns);
// Resolves the target, opens every connection and prints how that went.
// False when the run cannot go on (no target, or nothing opened; then the
// errors and a RESULT line with opened=0 are printed): the mode returns 1.
// `extra` connections (the publisher) are not counted as `what`.
bool connect_all(Runner& r, const char* mode, const char* what, uint64_t extra);

}  // namespace wsd::loadgen
