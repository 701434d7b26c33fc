// apply_mask against memcpy of the same bytes (the yardstick: both touch every
// byte once).
#include <benchmark/benchmark.h>

#include <cstring>
#include <vector>

#include "core/mask.h"

namespace {

void BM_ApplyMask(benchmark::State& state) {
  const size_t n = static_cast<size_t>(state.range(0));
  std::vector<uint8_t> buf(n, 0x5a);
  const uint8_t key[4] = {0x37, 0xfa, 0x21, 0x3d};
  for (auto _ : state) {
    wsd::core::apply_mask(buf.data(), n, key, 1);  // offset 1: the rotated-key path
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * n));
}

// Unmasking from one buffer into another (the reactor's read buffer into a
// worker channel's shared ring): one pass instead of unmask plus memcpy.
void BM_ApplyMaskCopy(benchmark::State& state) {
  const size_t n = static_cast<size_t>(state.range(0));
  std::vector<uint8_t> src(n, 0x5a), dst(n);
  const uint8_t key[4] = {0x37, 0xfa, 0x21, 0x3d};
  for (auto _ : state) {
    wsd::core::apply_mask_copy(dst.data(), src.data(), n, key, 1);
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * n));
}

void BM_MaskMemcpy(benchmark::State& state) {
  const size_t n = static_cast<size_t>(state.range(0));
  std::vector<uint8_t> src(n, 0x5a), dst(n);
  for (auto _ : state) {
    std::memcpy(dst.data(), src.data(), n);
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * n));
}

}  // namespace

BENCHMARK(BM_ApplyMask)->Arg(32)->Arg(1 << 10)->Arg(64 << 10)->Arg(1 << 20);
BENCHMARK(BM_ApplyMaskCopy)->Arg(32)->Arg(1 << 10)->Arg(64 << 10)->Arg(1 << 20);
BENCHMARK(BM_MaskMemcpy)->Arg(32)->Arg(1 << 10)->Arg(64 << 10)->Arg(1 << 20);
