// MessageReader parsing client streams, against memcpy of the same bytes.
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <cstring>
#include <vector>

#include "core/frame.h"
#include "core/message_reader.h"

namespace {

using wsd::core::MessageReader;
using wsd::core::MessageSink;
using wsd::core::Opcode;

// Does as little as a sink can: counts.
struct CountingSink : MessageSink {
  size_t messages = 0;
  size_t bytes = 0;
  void on_message(Opcode, const uint8_t*, size_t len, bool) override {
    ++messages;
    bytes += len;
  }
  void on_ping(const uint8_t*, size_t) override {}
  void on_pong(const uint8_t*, size_t) override {}
  void on_close(uint16_t, std::string_view) override {}
  void on_error(uint16_t, std::string_view) override { std::abort(); }
};

// `count` masked frames of `payload` bytes each. The key is zero because the
// reader unmasks in place and the same buffer is parsed again and again: with
// a zero key it stays valid, and apply_mask does the same work for any key.
std::vector<uint8_t> stream(Opcode op, size_t payload, size_t count) {
  const uint8_t key[4] = {0, 0, 0, 0};
  std::vector<uint8_t> out;
  for (size_t i = 0; i < count; ++i) {
    uint8_t header[wsd::core::kMaxFrameHeaderSize];
    const size_t n =
        wsd::core::write_frame_header(header, static_cast<uint8_t>(op), true, false, payload, key);
    out.insert(out.end(), header, header + n);
    for (size_t k = 0; k < payload; ++k) out.push_back(static_cast<uint8_t>('a' + k % 26));
  }
  return out;
}

void parse(benchmark::State& state, std::vector<uint8_t> bytes) {
  const wsd::core::ReaderOptions options;
  MessageReader reader(options);
  CountingSink sink;
  for (auto _ : state) {
    reader.feed(bytes.data(), bytes.size(), sink);
    benchmark::DoNotOptimize(sink.bytes);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * bytes.size()));
  state.counters["msgs/s"] =
      benchmark::Counter(static_cast<double>(sink.messages), benchmark::Counter::kIsRate);
}

void copy(benchmark::State& state, const std::vector<uint8_t>& bytes) {
  std::vector<uint8_t> dst(bytes.size());
  for (auto _ : state) {
    std::memcpy(dst.data(), bytes.data(), bytes.size());
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * bytes.size()));
}

// 2048 frames of 32 bytes: 76 KiB, the small-message chat/game workload.
void BM_ParseSmallText(benchmark::State& state) { parse(state, stream(Opcode::Text, 32, 2048)); }
void BM_ParseSmallTextMemcpy(benchmark::State& state) {
  copy(state, stream(Opcode::Text, 32, 2048));
}
void BM_ParseBinary64K(benchmark::State& state) { parse(state, stream(Opcode::Binary, 65536, 1)); }
void BM_ParseBinary64KMemcpy(benchmark::State& state) {
  copy(state, stream(Opcode::Binary, 65536, 1));
}

}  // namespace

BENCHMARK(BM_ParseSmallText);
BENCHMARK(BM_ParseSmallTextMemcpy);
BENCHMARK(BM_ParseBinary64K);
BENCHMARK(BM_ParseBinary64KMemcpy);
