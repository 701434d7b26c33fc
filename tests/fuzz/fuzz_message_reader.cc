// Fuzzes MessageReader (and unpack) with a server's view of a client stream.
//
// Input: byte 0 holds options: bit 0 = permessage-deflate negotiated (an
// Inflater, window and takeover from bits 1-4), bit 5 = client side
// (unmasked frames expected); byte 1 seeds the piece sizes. The rest is the
// byte stream. It is read whole, then in pieces, and both runs must report
// the same events; every event is checked against the reader's contract.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/close_code.h"
#include "core/frame.h"
#include "core/message_reader.h"
#include "core/permessage_deflate.h"
#include "core/utf8.h"

using namespace wsd::core;

namespace {

constexpr uint64_t kMaxMessage = 64 * 1024;

void require(bool ok) {
  if (!ok) abort();
}

// Checks each event as it comes and records it for the comparison.
struct CheckingSink : MessageSink {
  std::vector<std::string> events;
  bool ended = false;  // on_close or on_error seen: nothing may follow

  void add(char kind, const uint8_t* d, size_t n, std::string_view extra = {}) {
    require(!ended);
    std::string e(1, kind);
    e.append(extra);
    e.append(reinterpret_cast<const char*>(d), n);
    events.push_back(std::move(e));
  }
  void on_message(Opcode op, const uint8_t* d, size_t n, bool compressed) override {
    require(op == Opcode::Text || op == Opcode::Binary);
    require(n <= kMaxMessage && d != nullptr);
    if (op == Opcode::Text) require(is_valid_utf8(d, n));
    add(op == Opcode::Text ? 'T' : 'B', d, n, compressed ? "z" : "");
  }
  void on_ping(const uint8_t* d, size_t n) override {
    require(n <= kMaxControlPayload);
    add('i', d, n);
  }
  void on_pong(const uint8_t* d, size_t n) override {
    require(n <= kMaxControlPayload);
    add('o', d, n);
  }
  void on_close(uint16_t code, std::string_view reason) override {
    require(code == 1005 ? reason.empty() : is_valid_wire_close_code(code));
    require(is_valid_utf8(reinterpret_cast<const uint8_t*>(reason.data()), reason.size()));
    add('c', reinterpret_cast<const uint8_t*>(reason.data()), reason.size(),
        std::to_string(code));
    ended = true;
  }
  void on_error(uint16_t code, std::string_view why) override {
    require(code == 1002 || code == 1007 || code == 1009);
    require(!why.empty());
    add('e', nullptr, 0, std::to_string(code));
    ended = true;
  }
};

struct Setup {
  ReaderOptions options;
  bool deflate = false;
  int window_bits = 15;
  bool no_context_takeover = false;
};

// Feeds `stream` in pieces; piece sizes come from a small LCG seeded with
// `seed` (0 = the whole stream at once).
std::vector<std::string> run(const Setup& s, std::string_view stream, uint8_t seed) {
  std::unique_ptr<Inflater> inflater;
  if (s.deflate) inflater = std::make_unique<Inflater>(s.window_bits, s.no_context_takeover);
  MessageReader reader(s.options, inflater.get());
  CheckingSink sink;
  std::vector<uint8_t> buf(stream.begin(), stream.end());
  uint32_t lcg = seed;
  for (size_t pos = 0; pos < buf.size();) {
    lcg = lcg * 1103515245u + 12345u;
    const size_t want = seed == 0 ? buf.size() : 1 + (lcg >> 16) % (lcg & 1 ? 7 : 300);
    const size_t n = std::min(want, buf.size() - pos);
    const bool was_stopped = reader.stopped();
    const size_t used = reader.feed(buf.data() + pos, n, sink);
    require(used <= n);
    require(reader.stopped() ? sink.ended : used == n);
    if (was_stopped) require(used == 0);
    require(reader.buffered() <= kMaxMessage + kMaxControlPayload);
    if (pos % 5 == 0) reader.trim();
    pos += n;
  }
  return sink.events;
}

// unpack must not crash, and what it returns must survive a pack round trip.
void check_unpack(std::string_view stream) {
  const std::optional<UnpackedFrame> f = unpack(stream);
  if (!f) return;
  require(f->frame_size <= stream.size());
  const std::string again = pack(f->data, f->opcode, f->flags & kFlagFin);
  const std::optional<UnpackedFrame> g = unpack(again);
  require(g && g->data == f->data && g->opcode == f->opcode && g->frame_size == again.size());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  Setup s;
  s.options.max_message_size = kMaxMessage;
  s.options.expect_masked = (data[0] & 0x20) == 0;
  s.deflate = (data[0] & 1) != 0;
  s.window_bits = 9 + (data[0] >> 1) % 7;
  s.no_context_takeover = (data[0] & 0x10) != 0;
  const std::string_view stream(reinterpret_cast<const char*>(data + 2), size - 2);
  check_unpack(stream);
  const std::vector<std::string> whole = run(s, stream, 0);
  require(run(s, stream, data[1] | 1) == whole);
  return 0;
}
