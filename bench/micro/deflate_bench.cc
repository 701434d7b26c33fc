// permessage-deflate: Deflater::compress and Inflater::inflate + finish of
// JSON-ish text messages of 1 KiB and 64 KiB, with context takeover and
// without (zlib stream allocated and freed per message), against memcpy of
// the same bytes. Bytes processed are uncompressed bytes; "ratio" is
// compressed / uncompressed.
#include <benchmark/benchmark.h>

#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "core/permessage_deflate.h"

using wsd::core::Deflater;
using wsd::core::Inflater;

namespace {

constexpr int kVariants = 64;  // distinct messages, cycled

// A chat-like JSON document of exactly `size` bytes; `seed` varies the values.
std::string json_message(size_t size, uint32_t seed) {
  static const char* const kWords[] = {"hello", "world", "lobby", "ping",   "status", "ready",
                                       "alice", "bob",   "carol", "update", "price",  "ok"};
  std::mt19937 rng(seed);
  std::string s = "[";
  while (s.size() < size) {
    s += "{\"type\":\"" + std::string(kWords[rng() % 12]) + "\",\"room\":\"" + kWords[rng() % 12] +
         "\",\"user\":{\"id\":" + std::to_string(rng() % 100000) + ",\"name\":\"" +
         kWords[rng() % 12] + "\"},\"text\":\"" + kWords[rng() % 12] + ' ' + kWords[rng() % 12] +
         ' ' + kWords[rng() % 12] + "\",\"ts\":" + std::to_string(1700000000 + rng() % 1000000) +
         "},";
  }
  s.resize(size);
  s.back() = ']';
  return s;
}

std::vector<std::string> messages(size_t size) {
  std::vector<std::string> v;
  for (int i = 0; i < kVariants; ++i) v.push_back(json_message(size, static_cast<uint32_t>(i)));
  return v;
}

const uint8_t* bytes(const std::string& s) { return reinterpret_cast<const uint8_t*>(s.data()); }

void BM_Memcpy(benchmark::State& state) {
  const auto msgs = messages(static_cast<size_t>(state.range(0)));
  std::vector<uint8_t> out(msgs[0].size());
  size_t i = 0;
  for (auto _ : state) {
    const std::string& m = msgs[i++ % kVariants];
    std::memcpy(out.data(), m.data(), m.size());
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * state.range(0));
}

void BM_Deflate(benchmark::State& state) {
  const auto msgs = messages(static_cast<size_t>(state.range(0)));
  const bool no_takeover = state.range(1) != 0;
  Deflater d(15, no_takeover, 8);
  std::string out;
  size_t i = 0, in_total = 0, out_total = 0;
  for (auto _ : state) {
    const std::string& m = msgs[i++ % kVariants];
    out.clear();
    if (!d.compress(bytes(m), m.size(), out)) state.SkipWithError("compress failed");
    in_total += m.size();
    out_total += out.size();
  }
  state.SetBytesProcessed(static_cast<int64_t>(in_total));
  state.counters["ratio"] = in_total ? static_cast<double>(out_total) / in_total : 0;
}

// The messages compressed in order by one deflater, to be inflated in the
// same order (with context takeover each depends on those before it).
std::vector<std::string> compressed_sequence(const std::vector<std::string>& msgs, bool no_takeover,
                                             size_t count) {
  Deflater d(15, no_takeover, 8);
  std::vector<std::string> seq(count);
  for (size_t i = 0; i < count; ++i) {
    const std::string& m = msgs[i % kVariants];
    d.compress(bytes(m), m.size(), seq[i]);
  }
  return seq;
}

void BM_Inflate(benchmark::State& state) {
  const size_t size = static_cast<size_t>(state.range(0));
  const bool no_takeover = state.range(1) != 0;
  const auto msgs = messages(size);
  const auto seq = compressed_sequence(msgs, no_takeover, size <= 4096 ? 1024 : 128);
  auto inf = std::make_unique<Inflater>(15, no_takeover);
  std::vector<uint8_t> out;
  out.reserve(size);
  size_t i = 0, in_total = 0;
  for (auto _ : state) {
    if (i == seq.size()) {  // start the sequence over on a fresh stream
      i = 0;
      inf = std::make_unique<Inflater>(15, no_takeover);
    }
    const std::string& z = seq[i++];
    out.clear();
    if (inf->inflate(bytes(z), z.size(), out, SIZE_MAX) != Inflater::Result::Ok ||
        inf->finish(out, SIZE_MAX) != Inflater::Result::Ok || out.size() != size) {
      state.SkipWithError("inflate failed");
      break;
    }
    in_total += size;
  }
  state.SetBytesProcessed(static_cast<int64_t>(in_total));
}

}  // namespace

BENCHMARK(BM_Memcpy)->Arg(1024)->Arg(64 * 1024);
// Args: message size, no_context_takeover.
BENCHMARK(BM_Deflate)->ArgsProduct({{1024, 64 * 1024}, {0, 1}});
BENCHMARK(BM_Inflate)->ArgsProduct({{1024, 64 * 1024}, {0, 1}});
