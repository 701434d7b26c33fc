#include "bench/loadgen/histogram.h"

#include <algorithm>
#include <bit>
#include <cmath>

namespace wsd::loadgen {

namespace {
constexpr uint64_t kSub = 1u << 6;
}

Histogram::Histogram() : buckets_(kBuckets, 0) {}

// Values below 64 map to themselves; above, the octave (position of the top
// bit) picks a block of 64 buckets and the 6 bits under the top bit pick one.
int Histogram::index_of(uint64_t ns) {
  if (ns < kSub) return static_cast<int>(ns);
  const int top = std::bit_width(ns) - 1;  // >= kSubBits
  if (top >= kMaxBits) return kBuckets - 1;
  const int shift = top - kSubBits;
  const uint64_t sub = (ns >> shift) & (kSub - 1);
  return static_cast<int>(kSub) * (shift + 1) + static_cast<int>(sub);
}

uint64_t Histogram::lower_bound(int index) {
  if (index < static_cast<int>(kSub)) return static_cast<uint64_t>(index);
  const int shift = index / static_cast<int>(kSub) - 1;
  const uint64_t sub = static_cast<uint64_t>(index) & (kSub - 1);
  return (kSub + sub) << shift;
}

void Histogram::record(uint64_t ns) {
  ++buckets_[index_of(ns)];
  ++count_;
  sum_ += ns;
  if (ns > max_) max_ = ns;
}

void Histogram::clear() {
  std::fill(buckets_.begin(), buckets_.end(), 0);
  count_ = sum_ = max_ = 0;
}

void Histogram::merge(const Histogram& other) {
  for (int i = 0; i < kBuckets; ++i) buckets_[i] += other.buckets_[i];
  count_ += other.count_;
  sum_ += other.sum_;
  max_ = std::max(max_, other.max_);
}

uint64_t Histogram::percentile(double q) const {
  if (count_ == 0) return 0;
  const auto rank = static_cast<uint64_t>(std::ceil(q * static_cast<double>(count_)));
  const uint64_t target = std::clamp<uint64_t>(rank, 1, count_);
  uint64_t seen = 0;
  for (int i = 0; i < kBuckets; ++i) {
    seen += buckets_[i];
    if (seen >= target) {
      const uint64_t lo = lower_bound(i);
      const uint64_t hi = i + 1 < kBuckets ? lower_bound(i + 1) : lo + 1;
      return std::min(lo + (hi - lo) / 2, max_);
    }
  }
  return max_;
}

}  // namespace wsd::loadgen
