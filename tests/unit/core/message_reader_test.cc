// Tests of core/message_reader.cc. Every input is fed whole, in random
// splits (fixed seeds) and one byte at a time, and the three runs must report
// the same events: the reader's result may not depend on how TCP cut the
// stream. Frames are built by hand here, independent of core/frame.cc.
#include "core/message_reader.h"

#include <doctest/doctest.h>

#include <random>
#include <string>
#include <vector>

#include "core/permessage_deflate.h"

using wsd::core::Inflater;
using wsd::core::MessageReader;
using wsd::core::MessageSink;
using wsd::core::Opcode;
using wsd::core::ReaderOptions;

namespace {

// First bytes of frames: FIN | RSV | opcode.
constexpr uint8_t kFin = 0x80, kRsv1 = 0x40, kRsv2 = 0x20, kRsv3 = 0x10;
constexpr uint8_t kCont = 0x0, kText = 0x1, kBin = 0x2, kClose = 0x8, kPing = 0x9, kPong = 0xA;

// Records what the reader reports, as comparable strings.
struct Recorder : MessageSink {
  std::vector<std::string> events;
  std::vector<const uint8_t*> message_data;  // where each message was delivered from

  static std::string str(const uint8_t* d, size_t n) { return std::string(d, d + n); }
  void on_message(Opcode op, const uint8_t* d, size_t n, bool compressed) override {
    const char* kind = op == Opcode::Text ? "text" : op == Opcode::Binary ? "binary" : "?";
    events.push_back(std::string(kind) + (compressed ? "+z:" : ":") + str(d, n));
    message_data.push_back(d);
  }
  void on_ping(const uint8_t* d, size_t n) override { events.push_back("ping:" + str(d, n)); }
  void on_pong(const uint8_t* d, size_t n) override { events.push_back("pong:" + str(d, n)); }
  void on_close(uint16_t code, std::string_view reason) override {
    events.push_back("close:" + std::to_string(code) + ":" + std::string(reason));
  }
  void on_error(uint16_t code, std::string_view why) override {
    CHECK_FALSE(why.empty());
    events.push_back("error:" + std::to_string(code));
  }
};

ReaderOptions options(bool expect_masked, uint64_t max = wsd::core::kDefaultPackageMaxLength) {
  ReaderOptions o;
  o.expect_masked = expect_masked;
  o.max_message_size = max;
  return o;
}
const ReaderOptions kServer = options(true);
const ReaderOptions kClient = options(false);
const ReaderOptions kSmall = options(true, 16);  // server, 16-byte messages

constexpr int kMinimal = -1;

// A frame with `first` as its first byte. `len_bytes` forces the length
// encoding (0, 2 or 8 extra bytes) to test non-minimal ones. Masked frames
// get a different key each time.
std::string frame(uint8_t first, std::string_view payload, bool masked, int len_bytes = kMinimal) {
  static uint32_t key_seed = 1;
  const uint64_t n = payload.size();
  if (len_bytes == kMinimal) len_bytes = n < 126 ? 0 : n <= 0xFFFF ? 2 : 8;
  const char mask_bit = masked ? '\x80' : 0;
  std::string f(1, static_cast<char>(first));
  if (len_bytes == 0) f += static_cast<char>(mask_bit | static_cast<char>(n));
  if (len_bytes == 2) f += static_cast<char>(mask_bit | 126);
  if (len_bytes == 8) f += static_cast<char>(mask_bit | 127);
  for (int i = len_bytes - 1; i >= 0; --i) f += static_cast<char>(n >> (8 * i));
  if (!masked) return f + std::string(payload);
  key_seed = key_seed * 2654435761u + 12345;
  char key[4];
  for (int i = 0; i < 4; ++i) key[i] = static_cast<char>(key_seed >> (8 * i));
  f.append(key, 4);
  for (size_t i = 0; i < n; ++i) f += static_cast<char>(payload[i] ^ key[i % 4]);
  return f;
}
std::string m(uint8_t first, std::string_view payload) { return frame(first, payload, true); }
std::string u(uint8_t first, std::string_view payload) { return frame(first, payload, false); }

std::string bytes(std::initializer_list<int> list) {
  std::string s;
  for (int b : list) s.push_back(static_cast<char>(b));
  return s;
}
std::string close_body(uint16_t code, std::string_view reason = {}) {
  return bytes({code >> 8, code & 0xFF}) + std::string(reason);
}
std::string pattern(size_t n) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>(i * 31 + 7);
  return s;
}

struct Outcome {
  std::vector<std::string> events;
  bool stopped = false;
  size_t consumed = 0;
};

// Feeds `input` in pieces of the given sizes (cycled). Once the reader has
// stopped it must consume nothing more.
Outcome feed_pieces(const std::string& input, const std::vector<size_t>& sizes,
                    const ReaderOptions& o, Inflater* inflater) {
  MessageReader reader(o, inflater);
  Recorder rec;
  std::vector<uint8_t> buf(input.begin(), input.end());
  Outcome out;
  for (size_t pos = 0, i = 0; pos < buf.size(); ++i) {
    const size_t n = std::min(sizes[i % sizes.size()], buf.size() - pos);
    const bool was_stopped = reader.stopped();
    const size_t used = reader.feed(buf.data() + pos, n, rec);
    REQUIRE(used <= n);
    if (was_stopped) REQUIRE(used == 0);
    if (!reader.stopped()) REQUIRE(used == n);
    out.consumed += used;
    pos += n;
  }
  out.events = std::move(rec.events);
  out.stopped = reader.stopped();
  return out;
}

bool ended_in_error(const Outcome& o) {
  return !o.events.empty() && o.events.back().starts_with("error:");
}

void check_same(const Outcome& a, const Outcome& b) {
  CHECK(a.events == b.events);
  CHECK(a.stopped == b.stopped);
  // Where a bad piece ends depends on the split; everything else does not.
  if (!ended_in_error(a)) CHECK(a.consumed == b.consumed);
}

// Whole, five seeded random splits, and byte by byte; returns the events.
std::vector<std::string> read(const std::string& input, const ReaderOptions& o = kServer,
                              Inflater* inflater = nullptr) {
  const Outcome whole = feed_pieces(input, {std::max<size_t>(input.size(), 1)}, o, inflater);
  if (!whole.stopped) CHECK(whole.consumed == input.size());
  for (uint32_t seed = 1; seed <= 5; ++seed) {
    CAPTURE(seed);
    std::mt19937 rng(seed);
    std::vector<size_t> sizes(64);
    for (size_t& s : sizes) {
      const size_t limit = rng() % 2 ? 9 : input.size() / 3 + 1;  // small or large pieces
      s = 1 + rng() % limit;
    }
    check_same(whole, feed_pieces(input, sizes, o, inflater));
  }
  check_same(whole, feed_pieces(input, {1}, o, inflater));
  return whole.events;
}

using Events = std::vector<std::string>;

// RFC 6455 §5.7 examples.
const std::string kMaskedHello =
    bytes({0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58});
const std::string kHello = bytes({0x81, 0x05, 'H', 'e', 'l', 'l', 'o'});
const std::string kHelLo = bytes({0x01, 0x03, 'H', 'e', 'l', 0x80, 0x02, 'l', 'o'});
const std::string kPingHello = bytes({0x89, 0x05, 'H', 'e', 'l', 'l', 'o'});
const std::string kMaskedPongHello =
    bytes({0x8a, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58});

struct Case {
  const char* name;
  std::string input;
  Events events;
  const ReaderOptions* options = &kServer;
};

void run_cases(const std::vector<Case>& cases) {
  for (const Case& c : cases) {
    CAPTURE(c.name);
    CHECK(read(c.input, *c.options) == c.events);
  }
}

}  // namespace

TEST_CASE("MessageReader: RFC 6455 §5.7 examples") {
  const std::string b256 = pattern(256), b64k = pattern(65536);
  run_cases({
      {"masked Hello", kMaskedHello, {"text:Hello"}},
      {"unmasked Hello (client side)", kHello, {"text:Hello"}, &kClient},
      {"fragmented Hel + lo (client side)", kHelLo, {"text:Hello"}, &kClient},
      {"unmasked ping (client side)", kPingHello, {"ping:Hello"}, &kClient},
      {"masked pong", kMaskedPongHello, {"pong:Hello"}},
      {"256-byte binary, 16-bit length (client side)",
       bytes({0x82, 0x7E, 0x01, 0x00}) + b256, {"binary:" + b256}, &kClient},
      {"64 KiB binary, 64-bit length (client side)",
       bytes({0x82, 0x7F, 0, 0, 0, 0, 0, 0x01, 0, 0}) + b64k, {"binary:" + b64k}, &kClient},
      {"256-byte binary, masked", m(kFin | kBin, b256), {"binary:" + b256}},
      {"64 KiB binary, masked", m(kFin | kBin, b64k), {"binary:" + b64k}},
  });
}

TEST_CASE("MessageReader: framing") {
  run_cases({
      {"messages back to back",
       m(kFin | kText, "one") + m(kFin | kBin, "two") + m(kFin | kText, "three"),
       {"text:one", "binary:two", "text:three"}},
      {"empty text, binary, ping, pong",
       m(kFin | kText, "") + m(kFin | kBin, "") + m(kFin | kPing, "") + m(kFin | kPong, ""),
       {"text:", "binary:", "ping:", "pong:"}},
      {"empty fragments", m(kText, "") + m(kCont, "") + m(kFin | kCont, ""), {"text:"}},
      {"many fragments", m(kBin, "a") + m(kCont, "bc") + m(kCont, "") + m(kFin | kCont, "def"),
       {"binary:abcdef"}},
      {"non-minimal 16-bit length", frame(kFin | kText, "Hello", true, 2), {"text:Hello"}},
      {"non-minimal 64-bit length", frame(kFin | kText, "Hello", true, 8), {"text:Hello"}},
      {"non-minimal length on a ping", frame(kFin | kPing, "p", true, 2), {"ping:p"}},
      {"ping of exactly 125 bytes", m(kFin | kPing, std::string(125, 'p')),
       {"ping:" + std::string(125, 'p')}},
      {"control frames between fragments",
       m(kText, "Hel") + m(kFin | kPing, "p") + m(kFin | kPong, "") + m(kCont, "l") +
           m(kFin | kPing, "q") + m(kFin | kCont, "o"),
       {"ping:p", "pong:", "ping:q", "text:Hello"}},
      {"close between fragments",
       m(kText, "Hel") + m(kFin | kClose, close_body(1000)) + m(kFin | kCont, "lo"),
       {"close:1000:"}},
      {"binary is not checked as UTF-8", m(kFin | kBin, "\xff\xc0"), {"binary:\xff\xc0"}},
  });
}

TEST_CASE("MessageReader: header rules → 1002") {
  run_cases({
      {"64-bit length with the top bit set",
       bytes({0x82, 0xFF, 0x80, 0, 0, 0, 0, 0, 0, 1, 1, 2, 3, 4}) + "x", {"error:1002"}},
      {"unmasked frame to the server", u(kFin | kText, "Hello"), {"error:1002"}},
      {"masked frame to the client", m(kFin | kText, "Hello"), {"error:1002"}, &kClient},
      {"RSV1 without deflate", m(kFin | kRsv1 | kText, "x"), {"error:1002"}},
      {"RSV2", m(kFin | kRsv2 | kText, "x"), {"error:1002"}},
      {"RSV3", m(kFin | kRsv3 | kBin, "x"), {"error:1002"}},
      {"ping not FIN", m(kPing, "p"), {"error:1002"}},
      {"close not FIN", m(kClose, ""), {"error:1002"}},
      {"ping of 126 bytes", m(kFin | kPing, std::string(126, 'p')), {"error:1002"}},
      {"pong with a 64-bit length", frame(kFin | kPong, std::string(200, 'p'), true, 8),
       {"error:1002"}},
      {"continuation without a message", m(kFin | kCont, "x"), {"error:1002"}},
      {"continuation after a complete message", m(kFin | kText, "a") + m(kFin | kCont, "b"),
       {"text:a", "error:1002"}},
      {"text inside a fragmented message", m(kText, "a") + m(kFin | kText, "b"), {"error:1002"}},
      {"binary inside a fragmented message", m(kBin, "a") + m(kBin, "b"), {"error:1002"}},
      {"nothing after an error", u(kFin | kText, "x") + m(kFin | kText, "y"), {"error:1002"}},
  });
}

TEST_CASE("MessageReader: reserved opcodes → 1002") {
  for (uint8_t op : {3, 4, 5, 6, 7, 0xB, 0xC, 0xD, 0xE, 0xF}) {
    CAPTURE(int(op));
    CHECK(read(m(kFin | op, "x")) == Events{"error:1002"});
    CHECK(read(m(kFin | kText, "ok") + m(kFin | op, "")) == Events{"text:ok", "error:1002"});
  }
}

TEST_CASE("MessageReader: RSV1 on a continuation or control frame → 1002, even with deflate") {
  Inflater inflater(15, false);
  CHECK(read(m(kBin, "a") + m(kFin | kRsv1 | kCont, "b"), kServer, &inflater) ==
        Events{"error:1002"});
  CHECK(read(m(kFin | kRsv1 | kPing, "p"), kServer, &inflater) == Events{"error:1002"});
  CHECK(read(m(kFin | kRsv1 | kClose, ""), kServer, &inflater) == Events{"error:1002"});
}

TEST_CASE("MessageReader: message size limit → 1009") {
  run_cases({
      {"exactly the limit", m(kFin | kBin, pattern(16)), {"binary:" + pattern(16)}, &kSmall},
      {"one byte over", m(kFin | kBin, pattern(17)), {"error:1009"}, &kSmall},
      {"fragments up to the limit", m(kText, "0123456789") + m(kFin | kCont, "abcdef"),
       {"text:0123456789abcdef"}, &kSmall},
      {"fragments over the limit", m(kText, "0123456789") + m(kFin | kCont, "abcdefg"),
       {"error:1009"}, &kSmall},
      {"control frames do not count", m(kFin | kPing, std::string(125, 'p')),
       {"ping:" + std::string(125, 'p')}, &kSmall},
      {"limit is per message", m(kFin | kBin, pattern(16)) + m(kFin | kBin, pattern(16)),
       {"binary:" + pattern(16), "binary:" + pattern(16)}, &kSmall},
  });
}

TEST_CASE("MessageReader: 1009 comes with the header, before any payload") {
  Recorder rec;
  MessageReader reader(kSmall);
  // A 2^40-byte frame: only its header is ever fed.
  std::string h = bytes({0x82, 0xFF, 0, 0, 0, 1, 0, 0, 0, 0, 1, 2, 3, 4});
  CHECK(reader.feed(reinterpret_cast<uint8_t*>(h.data()), h.size(), rec) == h.size());
  CHECK(rec.events == Events{"error:1009"});
  CHECK(reader.stopped());

  Recorder rec2;
  MessageReader reader2(kSmall);
  std::string first = m(kText, "0123456789");
  std::string second = m(kFin | kCont, "abcdefg");
  reader2.feed(reinterpret_cast<uint8_t*>(first.data()), first.size(), rec2);
  reader2.feed(reinterpret_cast<uint8_t*>(second.data()), 6, rec2);  // header only
  CHECK(rec2.events == Events{"error:1009"});
}

TEST_CASE("MessageReader: text must be UTF-8 → 1007") {
  run_cases({
      {"valid 2-, 3- and 4-byte", m(kFin | kText, "\xce\xba\xe2\x82\xac\xf0\x9f\x98\x80"),
       {"text:\xce\xba\xe2\x82\xac\xf0\x9f\x98\x80"}},
      {"max code point", m(kFin | kText, "\xf4\x8f\xbf\xbf"), {"text:\xf4\x8f\xbf\xbf"}},
      {"sequence split across fragments", m(kText, "a\xf0\x9f") + m(kFin | kCont, "\x98\x80"),
       {"text:a\xf0\x9f\x98\x80"}},
      {"ping between halves of a sequence",
       m(kText, "\xce") + m(kFin | kPing, "\xff") + m(kFin | kCont, "\xba"),
       {"ping:\xff", "text:\xce\xba"}},
      {"overlong", m(kFin | kText, "a\xc0\xaf"), {"error:1007"}},
      {"overlong 3-byte", m(kFin | kText, "\xe0\x80\xaf"), {"error:1007"}},
      {"surrogate D800", m(kFin | kText, "\xed\xa0\x80"), {"error:1007"}},
      {"surrogate DFFF", m(kFin | kText, "\xed\xbf\xbf"), {"error:1007"}},
      {"above U+10FFFF", m(kFin | kText, "\xf4\x90\x80\x80"), {"error:1007"}},
      {"F5 lead", m(kFin | kText, "\xf5\x80\x80\x80"), {"error:1007"}},
      {"stray continuation", m(kFin | kText, "ab\x80"), {"error:1007"}},
      {"truncated at message end", m(kFin | kText, "ab\xe2\x82"), {"error:1007"}},
      {"truncated at the end of fragments", m(kText, "ab") + m(kFin | kCont, "\xf0\x9f\x98"),
       {"error:1007"}},
      {"invalid first fragment", m(kText, "\xff") + m(kFin | kCont, "ok"), {"error:1007"}},
      {"invalid in a continuation", m(kText, "ok") + m(kFin | kCont, "\xed\xa0\x80"),
       {"error:1007"}},
  });
}

TEST_CASE("MessageReader: bad UTF-8 is reported before the rest of the message is fed") {
  SUBCASE("in a first fragment") {
    Recorder rec;
    MessageReader reader(kServer);
    std::string first = m(kText, "ok\xed\xa0");  // "ED A0" is already a surrogate
    reader.feed(reinterpret_cast<uint8_t*>(first.data()), first.size(), rec);
    CHECK(rec.events == Events{"error:1007"});
  }
  SUBCASE("inside one frame, before its end") {
    Recorder rec;
    MessageReader reader(kServer);
    std::string f = m(kFin | kText, "abc\xc0" + std::string(100, 'x'));
    reader.feed(reinterpret_cast<uint8_t*>(f.data()), 2 + 4 + 4, rec);  // header + "abc\xc0"
    CHECK(rec.events == Events{"error:1007"});
    CHECK(reader.stopped());
  }
}

TEST_CASE("MessageReader: close frames") {
  run_cases({
      {"empty: 1005", m(kFin | kClose, ""), {"close:1005:"}},
      {"code only", m(kFin | kClose, close_body(1000)), {"close:1000:"}},
      {"code and reason", m(kFin | kClose, close_body(4001, "bye \xce\xba")),
       {"close:4001:bye \xce\xba"}},
      {"unmasked (client side)", u(kFin | kClose, close_body(1001)), {"close:1001:"}, &kClient},
      {"one byte", m(kFin | kClose, "\x03"), {"error:1002"}},
      {"code 999", m(kFin | kClose, close_body(999)), {"error:1002"}},
      {"code 1005", m(kFin | kClose, close_body(1005)), {"error:1002"}},
      {"code 1006", m(kFin | kClose, close_body(1006)), {"error:1002"}},
      {"code 1016", m(kFin | kClose, close_body(1016)), {"error:1002"}},
      {"code 5000", m(kFin | kClose, close_body(5000)), {"error:1002"}},
      {"reason not UTF-8", m(kFin | kClose, close_body(1000, "\xff")), {"error:1007"}},
      {"nothing after a close", m(kFin | kClose, close_body(1000)) + m(kFin | kText, "x"),
       {"close:1000:"}},
  });
}

TEST_CASE("MessageReader: a close frame is consumed exactly, nothing after it") {
  std::string close = m(kFin | kClose, close_body(1000, "bye"));
  std::string input = m(kFin | kText, "hi") + close + m(kFin | kText, "more");
  Recorder rec;
  MessageReader reader(kServer);
  const size_t used = reader.feed(reinterpret_cast<uint8_t*>(input.data()), input.size(), rec);
  CHECK(used == input.size() - m(kFin | kText, "more").size());
  CHECK(rec.events == Events{"text:hi", "close:1000:bye"});
  CHECK(reader.stopped());
  CHECK(reader.feed(reinterpret_cast<uint8_t*>(input.data()), input.size(), rec) == 0);
}

TEST_CASE("MessageReader: a frame wholly in the buffer is delivered from it, without a copy") {
  std::string input = m(kFin | kText, "Hello") + m(kFin | kBin, pattern(1000)) +
                      m(kText, "frag") + m(kFin | kCont, "mented");
  auto* buf = reinterpret_cast<uint8_t*>(input.data());
  Recorder rec;
  MessageReader reader(kServer);
  reader.feed(buf, input.size(), rec);
  REQUIRE(rec.message_data.size() == 3);
  auto in_buffer = [&](const uint8_t* p) { return p >= buf && p < buf + input.size(); };
  CHECK(in_buffer(rec.message_data[0]));
  CHECK(in_buffer(rec.message_data[1]));
  CHECK_FALSE(in_buffer(rec.message_data[2]));  // reassembled
  CHECK(rec.events[2] == "text:fragmented");
}

TEST_CASE("MessageReader: buffered() and trim()") {
  Recorder rec;
  MessageReader reader(kServer);
  std::string first = m(kBin, "Hel");
  std::string ping = m(kFin | kPing, "ping");
  std::string last = m(kFin | kCont, "lo");
  reader.feed(reinterpret_cast<uint8_t*>(first.data()), first.size(), rec);
  CHECK(reader.buffered() == 3);
  reader.trim();  // a message is in progress: kept
  CHECK(reader.buffered() == 3);
  reader.feed(reinterpret_cast<uint8_t*>(ping.data()), ping.size() - 1, rec);  // ping half in
  reader.feed(reinterpret_cast<uint8_t*>(ping.data()) + ping.size() - 1, 1, rec);
  CHECK(reader.buffered() == 3);
  reader.feed(reinterpret_cast<uint8_t*>(last.data()), last.size(), rec);
  CHECK(rec.events == Events{"ping:ping", "binary:Hello"});
  CHECK(reader.buffered() == 0);
  reader.trim();
  CHECK(reader.buffered() == 0);
}

// A sink that lends buffers from a pool, as the reactor does.
struct PoolSink : Recorder {
  wsd::core::BufferPool pool;
  int lent = 0;
  std::unique_ptr<wsd::core::Buffer> lend_buffer() override {
    ++lent;
    return pool.take();
  }
};

TEST_CASE("MessageReader: the reassembly buffer is borrowed only when needed and can be taken back") {
  PoolSink sink;
  MessageReader reader(kServer);
  std::string whole = m(kFin | kText, "in place");
  reader.feed(reinterpret_cast<uint8_t*>(whole.data()), whole.size(), sink);
  CHECK(sink.lent == 0);                 // a whole frame needs no buffer
  CHECK(reader.take_buffer() == nullptr);

  std::string split = m(kFin | kBin, "split across feeds");
  reader.feed(reinterpret_cast<uint8_t*>(split.data()), 10, sink);
  CHECK(sink.lent == 1);
  CHECK(reader.take_buffer() == nullptr);  // in use
  reader.feed(reinterpret_cast<uint8_t*>(split.data()) + 10, split.size() - 10, sink);
  CHECK(sink.events.back() == "binary:split across feeds");
  std::unique_ptr<wsd::core::Buffer> b = reader.take_buffer();
  REQUIRE(b != nullptr);
  CHECK(b->bytes.capacity() >= 8);
  sink.pool.give(std::move(b));
  CHECK(sink.pool.pooled_buffers() == 1);
  CHECK(reader.buffered() == 0);

  // The next split message borrows the pooled buffer again.
  std::string again = m(kFin | kText, "and again");
  reader.feed(reinterpret_cast<uint8_t*>(again.data()), 8, sink);  // header and 2 payload bytes
  CHECK(sink.pool.pooled_buffers() == 0);
  reader.feed(reinterpret_cast<uint8_t*>(again.data()) + 8, again.size() - 8, sink);
  CHECK(sink.events.back() == "text:and again");
  CHECK(sink.lent == 2);
}

TEST_CASE("BufferPool: bounded in size and count") {
  wsd::core::BufferPool pool;
  auto big = pool.take();
  big->bytes.resize(wsd::core::BufferPool::kKeepCapacity + 1);
  pool.give(std::move(big));
  CHECK(pool.pooled_buffers() == 0);  // too large to keep
  std::vector<std::unique_ptr<wsd::core::Buffer>> many;
  for (int i = 0; i < 40; ++i) {
    many.push_back(pool.take());
    many.back()->bytes.resize(wsd::core::BufferPool::kKeepCapacity);
  }
  for (auto& b : many) pool.give(std::move(b));
  CHECK(pool.pooled_bytes() <= wsd::core::BufferPool::kMaxPooledBytes);
  CHECK(pool.pooled_buffers() == wsd::core::BufferPool::kMaxPooledBytes / wsd::core::BufferPool::kKeepCapacity);
  auto reused = pool.take();
  CHECK(reused->bytes.empty());
  CHECK(reused->bytes.capacity() == wsd::core::BufferPool::kKeepCapacity);
  CHECK(reused->head == 0);
}

TEST_CASE("MessageReader: large fragmented message with random fragment sizes") {
  const std::string payload = pattern(300000);
  std::mt19937 rng(42);
  std::string input;
  for (size_t pos = 0; pos < payload.size();) {
    const size_t n = std::min<size_t>(rng() % 70000, payload.size() - pos);
    const bool last = pos + n == payload.size();
    input += m((last ? kFin : 0) | (pos == 0 ? kBin : kCont), payload.substr(pos, n));
    if (rng() % 3 == 0 && !last) input += m(kFin | kPing, "p");
    pos += n;
  }
  const Events events = read(input);
  REQUIRE(!events.empty());
  CHECK(events.back() == "binary:" + payload);
}

TEST_CASE("MessageReader: stays small") {
  MESSAGE("sizeof(MessageReader) = " << sizeof(MessageReader));
  CHECK(sizeof(MessageReader) <= 56);  // it lives in every connection record
}

// A sink that asks for whole masked messages to be unmasked into memory of
// its own, as the reactor does with a worker channel's shared ring.
struct DestinationSink : Recorder {
  std::vector<uint8_t> dest = std::vector<uint8_t>(1024);
  std::vector<size_t> asked;
  uint8_t* message_destination(size_t len) override {
    asked.push_back(len);
    return len <= dest.size() ? dest.data() : nullptr;
  }
};

TEST_CASE("MessageReader: a whole masked message is unmasked into the sink's destination") {
  DestinationSink sink;
  MessageReader reader(kServer);
  std::string all = m(kFin | kBin, "to the ring") + m(kFin | kText, "h\xC3\xA9llo") + m(kFin | kPing, "p") +
                    m(kFin | kText, "bad \xC3\x28");
  std::string copy = all;
  reader.feed(reinterpret_cast<uint8_t*>(all.data()), all.size(), sink);
  CHECK(sink.events == Events{"binary:to the ring", "text:h\xC3\xA9llo", "ping:p", "error:1007"});
  REQUIRE(sink.message_data.size() == 2);
  CHECK(sink.message_data[0] == sink.dest.data());   // delivered from the destination
  CHECK(sink.message_data[1] == sink.dest.data());
  CHECK(sink.asked == std::vector<size_t>{11, 6, 6});  // never for a control frame
  // The data frames' bytes were read, not unmasked in place (the ping's were).
  const size_t first_two = m(kFin | kBin, "to the ring").size() + m(kFin | kText, "h\xC3\xA9llo").size();
  CHECK(all.substr(0, first_two) == copy.substr(0, first_two));
}

TEST_CASE("MessageReader: no destination for fragments, split frames or a refusing sink") {
  DestinationSink sink;
  MessageReader reader(kServer);
  std::string frags = m(kText, "frag") + m(kFin | kCont, "ment");
  reader.feed(reinterpret_cast<uint8_t*>(frags.data()), frags.size(), sink);
  std::string split = m(kFin | kBin, "split across feeds");
  reader.feed(reinterpret_cast<uint8_t*>(split.data()), 10, sink);
  reader.feed(reinterpret_cast<uint8_t*>(split.data()) + 10, split.size() - 10, sink);
  CHECK(sink.asked.empty());
  std::string big = m(kFin | kBin, std::string(2000, 'x'));  // larger than the sink's memory
  reader.feed(reinterpret_cast<uint8_t*>(big.data()), big.size(), sink);
  CHECK(sink.asked == std::vector<size_t>{2000});
  CHECK(sink.events == Events{"text:fragment", "binary:split across feeds", "binary:" + std::string(2000, 'x')});
}
