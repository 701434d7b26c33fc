// UTF-8 validation of ASCII and of mixed multi-byte text against memcpy of
// the same bytes.
#include <benchmark/benchmark.h>

#include <cstring>
#include <string>

#include "core/utf8.h"

namespace {

constexpr size_t kSize = 64 << 10;

std::string fill(const std::string& unit) {
  std::string s;
  while (s.size() + unit.size() <= kSize) s += unit;
  return s;
}

// Latin, Greek, CJK and an emoji: 1-, 2-, 3- and 4-byte sequences.
const std::string kAscii = fill("The quick brown fox jumps over the lazy dog. ");
const std::string kMixed = fill("Grüße, κόσμε, 世界 😀 and plain ASCII words. ");

void validate(benchmark::State& state, const std::string& text) {
  const auto* p = reinterpret_cast<const uint8_t*>(text.data());
  for (auto _ : state) {
    bool ok = wsd::core::is_valid_utf8(p, text.size());
    benchmark::DoNotOptimize(ok);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * text.size()));
}

void BM_Utf8Ascii(benchmark::State& state) { validate(state, kAscii); }
void BM_Utf8Mixed(benchmark::State& state) { validate(state, kMixed); }

void BM_Utf8Memcpy(benchmark::State& state) {
  std::string dst(kAscii.size(), '\0');
  for (auto _ : state) {
    std::memcpy(dst.data(), kAscii.data(), kAscii.size());
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * kAscii.size()));
}

}  // namespace

BENCHMARK(BM_Utf8Ascii);
BENCHMARK(BM_Utf8Mixed);
BENCHMARK(BM_Utf8Memcpy);
