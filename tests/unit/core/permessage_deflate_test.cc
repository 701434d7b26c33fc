// Tests of core/permessage_deflate.cc: negotiation as a table (one line per
// offer), the RFC 7692 §7.2.3 examples, round trips, the bomb limit, and the
// same through MessageReader, fed whole, in random splits and bytewise.
#include "core/permessage_deflate.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <cstring>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "core/frame.h"
#include "core/mask.h"
#include "core/message_reader.h"

using namespace wsd::core;

namespace {

using Bytes = std::vector<uint8_t>;

DeflateConfig config(int bits = 15, bool server_nct = false, bool client_nct = false) {
  DeflateConfig c;
  c.enabled = true;
  c.max_window_bits = bits;
  c.server_no_context_takeover = server_nct;
  c.client_no_context_takeover = client_nct;
  return c;
}

const DeflateConfig kDefault = config();
const DeflateConfig kBits10 = config(10);
const DeflateConfig kServerNct = config(15, true, false);
const DeflateConfig kClientNct = config(15, false, true);
const DeflateConfig kDisabled{};

struct NegotiationCase {
  const char* offer;
  const DeflateConfig* config;
  const char* response;  // nullptr: declined
};

// clang-format off
const NegotiationCase kNegotiation[] = {
  // Plain offers, and the server's own preferences.
  {"permessage-deflate",                                       &kDefault,   "permessage-deflate"},
  {"permessage-deflate",                                       &kServerNct, "permessage-deflate; server_no_context_takeover"},
  {"permessage-deflate",                                       &kClientNct, "permessage-deflate; client_no_context_takeover"},
  {"permessage-deflate",                                       &kBits10,    "permessage-deflate; server_max_window_bits=10"},
  {"permessage-deflate",                                       &kDisabled,  nullptr},
  {"",                                                         &kDefault,   nullptr},
  {"x-foo",                                                    &kDefault,   nullptr},
  // Context takeover.
  {"permessage-deflate; server_no_context_takeover",           &kDefault,   "permessage-deflate; server_no_context_takeover"},
  {"permessage-deflate; client_no_context_takeover",           &kDefault,   "permessage-deflate; client_no_context_takeover"},
  {"permessage-deflate; client_no_context_takeover",           &kServerNct, "permessage-deflate; server_no_context_takeover; client_no_context_takeover"},
  // server_max_window_bits: echoed (even 15), capped by the config; 8 is declined.
  {"permessage-deflate; server_max_window_bits=10",            &kDefault,   "permessage-deflate; server_max_window_bits=10"},
  {"permessage-deflate; server_max_window_bits=12",            &kBits10,    "permessage-deflate; server_max_window_bits=10"},
  {"permessage-deflate; server_max_window_bits=9",             &kBits10,    "permessage-deflate; server_max_window_bits=9"},
  {"permessage-deflate; server_max_window_bits=15",            &kDefault,   "permessage-deflate; server_max_window_bits=15"},
  {"permessage-deflate; server_max_window_bits=8",             &kDefault,   nullptr},
  {"permessage-deflate; server_max_window_bits=8, permessage-deflate", &kDefault, "permessage-deflate"},
  // client_max_window_bits.
  {"permessage-deflate; client_max_window_bits",               &kDefault,   "permessage-deflate"},
  {"permessage-deflate; client_max_window_bits",               &kBits10,    "permessage-deflate; server_max_window_bits=10; client_max_window_bits=10"},
  {"permessage-deflate; client_max_window_bits=12",            &kDefault,   "permessage-deflate; client_max_window_bits=12"},
  {"permessage-deflate; client_max_window_bits=12",            &kBits10,    "permessage-deflate; server_max_window_bits=10; client_max_window_bits=10"},
  {"permessage-deflate; client_max_window_bits=8",             &kDefault,   "permessage-deflate; client_max_window_bits=8"},
  {"permessage-deflate; client_max_window_bits=15",            &kDefault,   "permessage-deflate"},
  // Invalid values decline the offer.
  {"permessage-deflate; client_max_window_bits=16",            &kDefault,   nullptr},
  {"permessage-deflate; client_max_window_bits=7",             &kDefault,   nullptr},
  {"permessage-deflate; client_max_window_bits=abc",           &kDefault,   nullptr},
  {"permessage-deflate; client_max_window_bits=\"abc\"",       &kDefault,   nullptr},
  {"permessage-deflate; client_max_window_bits=010",           &kDefault,   nullptr},
  {"permessage-deflate; client_max_window_bits=09",            &kDefault,   nullptr},
  {"permessage-deflate; server_max_window_bits",               &kDefault,   nullptr},
  {"permessage-deflate; server_max_window_bits=16",            &kDefault,   nullptr},
  {"permessage-deflate; server_no_context_takeover=1",         &kDefault,   nullptr},
  {"permessage-deflate; client_no_context_takeover=\"x\"",     &kDefault,   nullptr},
  // Duplicates and unknown parameters decline that offer only.
  {"permessage-deflate; server_no_context_takeover; server_no_context_takeover, permessage-deflate",
                                                               &kDefault,   "permessage-deflate"},
  {"permessage-deflate; client_max_window_bits; client_max_window_bits=10", &kDefault, nullptr},
  {"permessage-deflate; foo",                                  &kDefault,   nullptr},
  {"permessage-deflate; foo=1, permessage-deflate; client_no_context_takeover",
                                                               &kDefault,   "permessage-deflate; client_no_context_takeover"},
  // Other extensions are skipped.
  {"x-foo, permessage-deflate",                                &kDefault,   "permessage-deflate"},
  {"x-foo; bar=\"baz\"; q, permessage-deflate",                &kDefault,   "permessage-deflate"},
  {"x-foo; bar=\"b,a;z\", permessage-deflate",                 &kDefault,   nullptr},  // not a token
  // Quoted values, whitespace, case, empty list elements.
  {"permessage-deflate; client_max_window_bits=\"10\"",        &kDefault,   "permessage-deflate; client_max_window_bits=10"},
  {"permessage-deflate; client_max_window_bits=\"1\\0\"",      &kDefault,   "permessage-deflate; client_max_window_bits=10"},
  {" permessage-deflate ;\tclient_max_window_bits = 11 , x",   &kDefault,   "permessage-deflate; client_max_window_bits=11"},
  {", ,permessage-deflate,",                                   &kDefault,   "permessage-deflate"},
  {"PerMessage-Deflate; Server_No_Context_Takeover",           &kDefault,   "permessage-deflate; server_no_context_takeover"},
  // A header that breaks the grammar is not trusted at all.
  {"permessage-deflate;",                                      &kDefault,   nullptr},
  {"permessage-deflate;; server_no_context_takeover",          &kDefault,   nullptr},
  {"permessage-deflate; client_max_window_bits=",              &kDefault,   nullptr},
  {"permessage-deflate; client_max_window_bits=\"10",          &kDefault,   nullptr},
  {"permessage-deflate; client_max_window_bits=\"1 0\"",       &kDefault,   nullptr},
  {"permessage-deflate x",                                     &kDefault,   nullptr},
  {"permessage-deflate, x-foo; a=b/c",                         &kDefault,   nullptr},
  {"permessage-deflate, x-foo; a=\"\"",                        &kDefault,   nullptr},
};
// clang-format on

}  // namespace

TEST_CASE("permessage-deflate: negotiation table") {
  for (const NegotiationCase& c : kNegotiation) {
    const std::string offer = c.offer;
    CAPTURE(offer);
    const auto params = negotiate_deflate(c.offer, *c.config);
    if (c.response == nullptr) {
      CHECK_FALSE(params.has_value());
    } else {
      REQUIRE(params.has_value());
      CHECK(deflate_response_header(*params) == c.response);
    }
  }
}

TEST_CASE("permessage-deflate: params in force for both directions") {
  // No client_max_window_bits offered: the client uses 15 whatever we want.
  auto p = negotiate_deflate("permessage-deflate", kBits10);
  REQUIRE(p);
  CHECK(p->server_max_window_bits == 10);
  CHECK(p->client_max_window_bits == 15);
  // Offered with a value we do not lower: the client uses it.
  p = negotiate_deflate("permessage-deflate; client_max_window_bits=12", kDefault);
  REQUIRE(p);
  CHECK(p->client_max_window_bits == 12);
  CHECK(p->server_max_window_bits == 15);
  p = negotiate_deflate("permessage-deflate; client_no_context_takeover", kServerNct);
  REQUIRE(p);
  CHECK(p->server_no_context_takeover);
  CHECK(p->client_no_context_takeover);
}

TEST_CASE("permessage-deflate: client offer and response") {
  CHECK(deflate_offer_header(kDefault) == "permessage-deflate; client_max_window_bits");
  CHECK(deflate_offer_header(config(10, true, true)) ==
        "permessage-deflate; client_max_window_bits; server_max_window_bits=10; "
        "server_no_context_takeover; client_no_context_takeover");

  // Our offer, answered by our server, read back by our client: both ends agree.
  for (const DeflateConfig* c : {&kDefault, &kBits10, &kServerNct, &kClientNct}) {
    const auto server = negotiate_deflate(deflate_offer_header(*c), *c);
    REQUIRE(server);
    const auto client = parse_deflate_response(deflate_response_header(*server));
    REQUIRE(client);
    CHECK(client->server_max_window_bits == server->server_max_window_bits);
    CHECK(client->client_max_window_bits == server->client_max_window_bits);
    CHECK(client->server_no_context_takeover == server->server_no_context_takeover);
    CHECK(client->client_no_context_takeover == server->client_no_context_takeover);
  }

  const auto p = parse_deflate_response(
      "permessage-deflate; server_max_window_bits=9; client_max_window_bits=\"10\"");
  REQUIRE(p);
  CHECK(p->server_max_window_bits == 9);
  CHECK(p->client_max_window_bits == 10);

  for (const char* bad : {"", "x-foo", "permessage-deflate, permessage-deflate",
                          "permessage-deflate; client_max_window_bits",
                          "permessage-deflate; client_max_window_bits=8",
                          "permessage-deflate; server_no_context_takeover; server_no_context_takeover",
                          "permessage-deflate; foo", "permessage-deflate; server_max_window_bits=16"}) {
    CAPTURE(bad);
    CHECK_FALSE(parse_deflate_response(bad).has_value());
  }
}

// ---- Streams ----------------------------------------------------------------

namespace {

constexpr size_t kNoLimit = SIZE_MAX;

Bytes bytes_of(std::string_view s) { return Bytes(s.begin(), s.end()); }
Bytes bytes_of(std::initializer_list<int> l) {
  Bytes b;
  for (int v : l) b.push_back(static_cast<uint8_t>(v));
  return b;
}

Bytes compress(Deflater& d, const Bytes& in) {
  std::string out;
  REQUIRE(d.compress(in.data(), in.size(), out));
  return Bytes(out.begin(), out.end());
}

// Inflates one message fed in pieces of `piece` bytes (0: whole).
std::optional<Bytes> inflate_message(Inflater& inf, const Bytes& in, size_t piece = 0,
                                     size_t max_out = kNoLimit) {
  Bytes out;
  const size_t step = piece == 0 ? std::max<size_t>(in.size(), 1) : piece;
  for (size_t i = 0; i < in.size(); i += step) {
    const size_t n = std::min(step, in.size() - i);
    if (inf.inflate(in.data() + i, n, out, max_out) != Inflater::Result::Ok) return std::nullopt;
  }
  if (inf.finish(out, max_out) != Inflater::Result::Ok) return std::nullopt;
  return out;
}

Bytes random_bytes(std::mt19937& rng, size_t n, bool compressible) {
  Bytes b(n);
  for (auto& x : b) {
    x = compressible ? static_cast<uint8_t>("abcdefgh {}\":,0123"[rng() % 18])
                     : static_cast<uint8_t>(rng());
  }
  return b;
}

}  // namespace

TEST_CASE("permessage-deflate: RFC 7692 §7.2.3 examples") {
  const Bytes hello = bytes_of("Hello");
  const Bytes first = bytes_of({0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00});
  const Bytes again = bytes_of({0xf2, 0x00, 0x11, 0x00, 0x00});

  SUBCASE("deflate output is the RFC's bytes") {
    Deflater d(15, false, 8);
    CHECK(compress(d, hello) == first);
    CHECK(compress(d, hello) == again);  // §7.2.3.2: context takeover
    Deflater fresh(15, true, 8);
    CHECK(compress(fresh, hello) == first);
    CHECK(compress(fresh, hello) == first);  // no takeover: each message alone
  }
  SUBCASE("inflate, with context takeover") {
    Inflater inf(15, false);
    CHECK(inflate_message(inf, first) == hello);
    CHECK(inflate_message(inf, again) == hello);
  }
  SUBCASE("§7.2.3.3: uncompressed block") {
    Inflater inf(15, false);
    const Bytes stored = bytes_of({0x00, 0x05, 0x00, 0xfa, 0xff, 0x48, 0x65, 0x6c, 0x6c, 0x6f, 0x00});
    CHECK(inflate_message(inf, stored) == hello);
    CHECK(inflate_message(inf, first) == hello);
  }
  SUBCASE("§7.2.3.4: a block with BFINAL set, and context kept after it") {
    Inflater inf(15, false);
    const Bytes final_block = bytes_of({0xf3, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00, 0x00});
    CHECK(inflate_message(inf, final_block, 1) == hello);
    CHECK(inflate_message(inf, again) == hello);  // refers back into the final block
  }
  SUBCASE("§7.2.3.6: the empty message") {
    Deflater d(15, false, 8);
    CHECK(compress(d, {}) == bytes_of({0x00}));
    CHECK(compress(d, hello) == first);  // the empty block left the stream as it was
    CHECK(compress(d, {}) == bytes_of({0x00}));
    CHECK(compress(d, {}) == bytes_of({0x00}));
    CHECK(d.memory_used() > 0);
    Inflater inf(15, false);
    CHECK(inflate_message(inf, bytes_of({0x00})) == Bytes{});
    CHECK(inflate_message(inf, first) == hello);
    CHECK(inflate_message(inf, bytes_of({0x00})) == Bytes{});
    CHECK(inflate_message(inf, Bytes{}) == Bytes{});  // zero bytes: also empty
    CHECK(inflate_message(inf, again) == hello);
  }
}

TEST_CASE("permessage-deflate: round trips") {
  std::mt19937 rng(7692);
  const size_t sizes[] = {1, 2, 5, 100, 1000, 4095, 16384, 16385, 65536, 200000};
  for (const bool nct : {false, true}) {
    for (const int bits : {9, 12, 15}) {
      for (const int mem : {1, 8}) {
        CAPTURE(nct);
        CAPTURE(bits);
        CAPTURE(mem);
        Deflater d(bits, nct, mem);
        Inflater inf(bits, nct);
        for (size_t n : sizes) {
          for (const bool compressible : {true, false}) {
            CAPTURE(n);
            const Bytes in = random_bytes(rng, n, compressible);
            const Bytes z = compress(d, in);
            CHECK(d.memory_used() == (nct ? 0u : d.memory_used()));
            // A fresh inflater per message must do without context takeover.
            if (nct) {
              Inflater fresh(bits, true);
              CHECK(inflate_message(fresh, z, 1 + rng() % 64) == in);
            }
            CHECK(inflate_message(inf, z, rng() % 3 == 0 ? 0 : 1 + rng() % 5000) == in);
            if (nct) CHECK(inf.memory_used() == 0);
          }
        }
      }
    }
  }
}

TEST_CASE("permessage-deflate: a repeated message compresses to almost nothing with takeover") {
  std::mt19937 rng(1);
  const Bytes msg = random_bytes(rng, 1000, false);
  Deflater d(15, false, 8);
  compress(d, msg);
  CHECK(compress(d, msg).size() < 20);
  Deflater nct(15, true, 8);
  compress(nct, msg);
  CHECK(compress(nct, msg).size() > 1000);
}

// A message compressed by another stream (a shared publish frame) inserted
// between two of a connection's messages: the peer's window now holds the
// inserted message, which the connection's deflater never saw. Without a
// reset, the next message refers to the wrong bytes; after reset() it refers
// to nothing before it and decodes.
TEST_CASE("permessage-deflate: reset() after an inserted message keeps the peer in step") {
  std::mt19937 rng(7);
  const Bytes msg = random_bytes(rng, 1000, false);
  const Bytes other = random_bytes(rng, 1000, false);
  Deflater own(15, false, 8);
  Deflater shared(15, true, 8);
  for (bool reset : {false, true}) {
    CAPTURE(reset);
    Inflater peer(15, false);
    CHECK(inflate_message(peer, compress(own, msg)) == msg);
    CHECK(inflate_message(peer, compress(shared, other)) == other);
    if (reset) own.reset();
    const Bytes next = compress(own, msg);
    CHECK((next.size() < 20) == !reset);   // only with the old window is it a back-reference
    if (reset) {
      CHECK(inflate_message(peer, next) == msg);
      CHECK(inflate_message(peer, compress(own, msg)) == msg);   // context taken over again
    } else {
      CHECK(inflate_message(peer, next) != msg);
    }
    own.reset();
  }
  CHECK(own.context_takeover());
  CHECK_FALSE(shared.context_takeover());
  CHECK(own.window_bits() == 15);
}

TEST_CASE("permessage-deflate: bomb stops at the limit") {
  const Bytes zeros(10 * 1000 * 1000, 0);
  Deflater d(15, true, 8);
  const Bytes z = compress(d, zeros);
  CHECK(z.size() < 100000);  // a bomb: 10 MB from under 100 KB
  const size_t limit = 1 << 20;
  for (size_t piece : {size_t{0}, size_t{1000}}) {
    CAPTURE(piece);
    Inflater inf(15, false);
    Bytes out;
    Inflater::Result r = Inflater::Result::Ok;
    const size_t step = piece == 0 ? z.size() : piece;
    for (size_t i = 0; i < z.size() && r == Inflater::Result::Ok; i += step) {
      r = inf.inflate(z.data() + i, std::min(step, z.size() - i), out, limit);
    }
    CHECK(r == Inflater::Result::TooBig);
    CHECK(out.size() <= limit);
    CHECK(out.capacity() <= limit);
    CHECK(inf.memory_used() == 0);  // released, never reused half-way
  }
  // Exactly at the limit is fine.
  Inflater inf(15, false);
  const Bytes small(1000, 'a');
  CHECK(inflate_message(inf, compress(d, small), 0, 1000) == small);
  Bytes out;
  CHECK(inf.inflate(z.data(), 0, out, 0) == Inflater::Result::Ok);
  const Bytes z2 = compress(d, small);
  CHECK(inf.inflate(z2.data(), z2.size(), out, 999) == Inflater::Result::TooBig);
}

TEST_CASE("permessage-deflate: corrupt and truncated data") {
  Bytes out;
  SUBCASE("invalid block type") {
    Inflater inf(15, true);
    const Bytes bad = bytes_of({0xff, 0xff, 0xff, 0xff});
    CHECK(inf.inflate(bad.data(), bad.size(), out, kNoLimit) == Inflater::Result::Error);
    CHECK(inf.memory_used() == 0);
    // The next message starts on a fresh stream.
    CHECK(inflate_message(inf, bytes_of({0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00})) ==
          bytes_of("Hello"));
  }
  SUBCASE("distance beyond the window") {
    Inflater inf(15, false);
    CHECK_FALSE(inflate_message(inf, bytes_of({0xf2, 0x00, 0x11, 0x00, 0x00})).has_value());
  }
  SUBCASE("distance beyond a small window") {
    // zlib checks distances against its window only for matches reaching
    // back past the current call's output, so the match is in the next message.
    std::mt19937 rng(3);
    const Bytes first = random_bytes(rng, 2000, false);
    const Bytes second(first.begin(), first.begin() + 100);  // 2000 back
    Deflater d(15, false, 8);
    const Bytes z1 = compress(d, first);
    const Bytes z2 = compress(d, second);
    CHECK(z2.size() < 20);
    Inflater small(10, false);
    CHECK(inflate_message(small, z1) == first);
    CHECK_FALSE(inflate_message(small, z2).has_value());
    Inflater big(15, false);
    CHECK(inflate_message(big, z1) == first);
    CHECK(inflate_message(big, z2) == second);
  }
  SUBCASE("truncated message") {
    Deflater d(15, true, 8);
    std::mt19937 rng(5);
    const Bytes z = compress(d, random_bytes(rng, 3000, true));
    Inflater inf(15, false);
    const Bytes cut(z.begin(), z.begin() + static_cast<long>(z.size() / 2));
    CHECK_FALSE(inflate_message(inf, cut).has_value());
    CHECK(inf.memory_used() == 0);
  }
}

TEST_CASE("permessage-deflate: memory per connection") {
  struct Setting {
    int bits, mem;
  };
  for (const Setting s : {Setting{15, 8}, Setting{9, 1}}) {
    Deflater d(s.bits, false, s.mem);
    Inflater inf(s.bits, false);
    CHECK(d.memory_used() == 0);
    CHECK(inf.memory_used() == 0);
    std::mt19937 rng(9);
    const Bytes msg = random_bytes(rng, 100000, true);
    const Bytes z = compress(d, msg);
    REQUIRE(inflate_message(inf, z) == msg);
    MESSAGE("window ", s.bits, " memLevel ", s.mem, ": deflate ", d.memory_used(),
            " B, inflate ", inf.memory_used(), " B");
    // zlib's documented formulas, plus its state records.
    const size_t deflate_formula = (size_t{1} << (s.bits + 2)) + (size_t{1} << (s.mem + 9));
    CHECK(d.memory_used() >= deflate_formula);
    CHECK(d.memory_used() <= deflate_formula + 8192);
    const size_t inflate_formula = size_t{1} << s.bits;
    CHECK(inf.memory_used() >= inflate_formula);
    CHECK(inf.memory_used() <= inflate_formula + 8192);
  }
  Deflater nct(15, true, 8);
  std::string out;
  const uint8_t b[3] = {1, 2, 3};
  REQUIRE(nct.compress(b, 3, out));
  CHECK(nct.memory_used() == 0);
}

// ---- Through MessageReader --------------------------------------------------

namespace {

struct Collector : MessageSink {
  std::vector<std::string> events;
  void on_message(Opcode op, const uint8_t* data, size_t len, bool compressed) override {
    events.push_back("msg " + std::to_string(static_cast<int>(op)) + (compressed ? " z " : " ") +
                     std::string(reinterpret_cast<const char*>(data), len));
  }
  void on_ping(const uint8_t* data, size_t len) override {
    events.push_back("ping " + std::string(reinterpret_cast<const char*>(data), len));
  }
  void on_pong(const uint8_t*, size_t) override { events.push_back("pong"); }
  void on_close(uint16_t code, std::string_view) override {
    events.push_back("close " + std::to_string(code));
  }
  void on_error(uint16_t code, std::string_view) override {
    events.push_back("error " + std::to_string(code));
  }
};

// A masked client frame.
Bytes frame(Opcode op, bool fin, bool rsv1, const Bytes& payload) {
  const uint8_t key[4] = {0x37, 0xfa, 0x21, 0x3d};
  uint8_t header[kMaxFrameHeaderSize];
  const size_t n =
      write_frame_header(header, static_cast<uint8_t>(op), fin, rsv1, payload.size(), key);
  Bytes f(header, header + n);
  Bytes body = payload;
  apply_mask(body.data(), body.size(), key);
  f.insert(f.end(), body.begin(), body.end());
  return f;
}

Bytes concat(std::initializer_list<Bytes> parts) {
  Bytes all;
  for (const Bytes& p : parts) all.insert(all.end(), p.begin(), p.end());
  return all;
}

// Feeds `wire` in pieces of the given sizes (the last one takes the rest),
// with a fresh inflater per run.
std::vector<std::string> read_wire(const Bytes& wire, const std::vector<size_t>& sizes, bool deflate,
                                   uint64_t max_message = kDefaultPackageMaxLength) {
  ReaderOptions options;
  options.max_message_size = max_message;
  Inflater inflater(15, false);
  MessageReader reader(options, deflate ? &inflater : nullptr);
  Collector sink;
  Bytes copy = wire;
  size_t pos = 0;
  for (size_t i = 0; pos < copy.size(); ++i) {
    const size_t n = i < sizes.size() ? std::min(sizes[i], copy.size() - pos) : copy.size() - pos;
    pos += n;
    reader.feed(copy.data() + pos - n, n, sink);
    if (reader.stopped()) break;
  }
  return sink.events;
}

// Whole, one byte at a time, and in seeded random splits: all must agree.
std::vector<std::string> read_all_ways(const Bytes& wire, bool deflate = true,
                                       uint64_t max_message = kDefaultPackageMaxLength) {
  const auto whole = read_wire(wire, {}, deflate, max_message);
  CHECK(read_wire(wire, std::vector<size_t>(wire.size(), 1), deflate, max_message) == whole);
  std::mt19937 rng(static_cast<uint32_t>(wire.size()));
  for (int run = 0; run < 5; ++run) {
    std::vector<size_t> sizes;
    for (size_t left = wire.size(); left > 0;) {
      const size_t n = std::min<size_t>(left, 1 + rng() % 40);
      sizes.push_back(n);
      left -= n;
    }
    CHECK(read_wire(wire, sizes, deflate, max_message) == whole);
  }
  return whole;
}

const Bytes kHelloZ = {0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00};

}  // namespace

TEST_CASE("permessage-deflate: through MessageReader") {
  using V = std::vector<std::string>;
  SUBCASE("compressed text in one frame") {
    const Bytes wire = frame(Opcode::Text, true, true, kHelloZ);
    CHECK(wire[0] == 0xc1);
    CHECK(wire[1] == 0x87);
    CHECK(read_all_ways(wire) == V{"msg 1 z Hello"});
  }
  SUBCASE("two messages with context takeover, and a ping between fragments") {
    const Bytes wire = concat({frame(Opcode::Text, true, true, kHelloZ),
                               frame(Opcode::Text, false, true, {0xf2, 0x00}),
                               frame(Opcode::Ping, true, false, bytes_of("p")),
                               frame(Opcode::Continuation, true, false, {0x11, 0x00, 0x00})});
    CHECK(read_all_ways(wire) == V{"msg 1 z Hello", "ping p", "msg 1 z Hello"});
  }
  SUBCASE("fragmented in three frames, RSV1 on the first only") {
    std::mt19937 rng(11);
    const Bytes text = random_bytes(rng, 5000, true);
    Deflater d(15, false, 8);
    const Bytes z = compress(d, text);
    const size_t a = z.size() / 3, b = 2 * z.size() / 3;
    const Bytes wire =
        concat({frame(Opcode::Binary, false, true, Bytes(z.begin(), z.begin() + a)),
                frame(Opcode::Continuation, false, false, Bytes(z.begin() + a, z.begin() + b)),
                frame(Opcode::Continuation, true, false, Bytes(z.begin() + b, z.end()))});
    const std::string expected = "msg 2 z " + std::string(text.begin(), text.end());
    CHECK(read_all_ways(wire) == V{expected});
  }
  SUBCASE("empty compressed message, both encodings") {
    const Bytes wire = concat({frame(Opcode::Text, true, true, {0x00}),
                               frame(Opcode::Text, true, true, {}),
                               frame(Opcode::Text, true, true, kHelloZ)});
    CHECK(read_all_ways(wire) == V{"msg 1 z ", "msg 1 z ", "msg 1 z Hello"});
  }
  SUBCASE("RSV1 on a continuation frame") {
    const Bytes wire = concat({frame(Opcode::Text, false, true, {0xf2, 0x48}),
                               frame(Opcode::Continuation, true, true, {0xcd, 0xc9, 0xc9, 0x07, 0x00})});
    CHECK(read_all_ways(wire) == V{"error 1002"});
  }
  SUBCASE("RSV1 without an inflater") {
    CHECK(read_all_ways(frame(Opcode::Text, true, true, kHelloZ), false) == V{"error 1002"});
  }
  SUBCASE("bomb") {
    Deflater d(15, true, 8);
    const Bytes z = compress(d, Bytes(10 * 1000 * 1000, 'a'));
    CHECK(read_all_ways(frame(Opcode::Binary, true, true, z), true, 1 << 20) == V{"error 1009"});
  }
  SUBCASE("compressed invalid UTF-8") {
    Deflater d(15, true, 8);
    const Bytes z = compress(d, bytes_of("ok \xff\xfe bad"));
    CHECK(read_all_ways(frame(Opcode::Text, true, true, z)) == V{"error 1007"});
    // As binary it is fine.
    CHECK(read_all_ways(frame(Opcode::Binary, true, true, z)) == V{"msg 2 z ok \xff\xfe bad"});
  }
  SUBCASE("corrupt compressed data") {
    CHECK(read_all_ways(frame(Opcode::Binary, true, true, {0xff, 0xff, 0xff})) == V{"error 1007"});
  }
}
