// Latency histogram with fixed log-linear buckets (HDR-like): exact below
// 64 ns, then 64 buckets per power of two, so any recorded value is known to
// within 1/64 (1.6%). Recording is an index computation and an increment; the
// bucket array is allocated once.
#pragma once

#include <cstdint>
#include <vector>

namespace wsd::loadgen {

class Histogram {
 public:
  Histogram();

  // Records one value in nanoseconds; values beyond ~18 minutes land in the
  // last bucket.
  void record(uint64_t ns);
  void clear();
  void merge(const Histogram& other);

  uint64_t count() const { return count_; }
  uint64_t max() const { return max_; }
  double mean() const { return count_ ? static_cast<double>(sum_) / count_ : 0; }
  // The value below which a fraction `q` (0..1) of the records lie, in ns;
  // the middle of its bucket. 0 when empty.
  uint64_t percentile(double q) const;

 private:
  static constexpr int kSubBits = 6;                 // 64 buckets per octave
  static constexpr int kMaxBits = 40;                // 2^40 ns ~ 18 minutes
  static constexpr int kBuckets = (1 << kSubBits) * (kMaxBits - kSubBits + 1);

  static int index_of(uint64_t ns);
  static uint64_t lower_bound(int index);

  std::vector<uint64_t> buckets_;
  uint64_t count_ = 0;
  uint64_t sum_ = 0;
  uint64_t max_ = 0;
};

}  // namespace wsd::loadgen
