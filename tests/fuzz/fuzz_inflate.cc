// Fuzzes core/permessage_deflate.cc: the Inflater on arbitrary compressed
// messages, a Deflater -> Inflater round trip, and the negotiation parser.
//
// Input: byte 0 picks context takeover, the window bits and the piece size
// the messages are fed in; byte 1 picks the output limit; the rest is a
// sequence of messages, each a length byte followed by that many bytes.
// Invariants: no crash or sanitizer report, the output never passes the
// limit, a round trip gives the input back, and whatever negotiate_deflate
// accepts makes a response that parse_deflate_response reads back the same.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "core/permessage_deflate.h"

using namespace wsd::core;

namespace {

void require(bool ok) {
  if (!ok) abort();
}

struct Setup {
  bool no_context_takeover;
  int window_bits;  // 8..15
  size_t piece;     // 1..32
  size_t max_out;   // 0..8191
};

Setup read_setup(const uint8_t* data) {
  return Setup{(data[0] & 1) != 0, 8 + ((data[0] >> 1) & 7), 1 + (data[0] >> 4) * 2u,
               static_cast<size_t>(data[1]) * 32};
}

// Feeds one message in pieces; returns the result that ended it.
Inflater::Result inflate_message(Inflater& inf, const uint8_t* p, size_t n, const Setup& s,
                                 std::vector<uint8_t>& out) {
  for (size_t i = 0; i < n; i += s.piece) {
    const auto r = inf.inflate(p + i, std::min(s.piece, n - i), out, s.max_out);
    require(out.size() <= s.max_out);
    if (r != Inflater::Result::Ok) return r;
  }
  const auto r = inf.finish(out, s.max_out);
  require(out.size() <= s.max_out);
  return r;
}

void fuzz_inflater(const uint8_t* data, size_t size, const Setup& s) {
  Inflater inf(s.window_bits, s.no_context_takeover);
  size_t pos = 0;
  while (pos < size) {
    const size_t n = std::min<size_t>(data[pos], size - pos - 1);
    std::vector<uint8_t> out;
    inflate_message(inf, data + pos + 1, n, s, out);
    if (s.no_context_takeover) require(inf.memory_used() == 0);
    pos += 1 + n;
  }
}

// Compresses each message and inflates it back, with and without a limit.
void fuzz_round_trip(const uint8_t* data, size_t size, const Setup& s) {
  const int bits = std::max(s.window_bits, 9);
  Deflater d(bits, s.no_context_takeover, 1 + s.window_bits % 9);
  Inflater inf(bits, s.no_context_takeover);
  size_t pos = 0;
  while (pos < size) {
    const size_t n = std::min<size_t>(data[pos], size - pos - 1);
    const uint8_t* msg = data + pos + 1;
    std::string z;
    require(d.compress(msg, n, z));
    std::vector<uint8_t> out;
    Setup unlimited = s;
    unlimited.max_out = SIZE_MAX;
    require(inflate_message(inf, reinterpret_cast<const uint8_t*>(z.data()), z.size(), unlimited,
                            out) == Inflater::Result::Ok);
    require(out.size() == n && std::equal(out.begin(), out.end(), msg));
    // Alone, under the limit (with context takeover the message may refer
    // back to earlier ones, which a fresh stream does not have).
    Inflater limited(bits, true);
    out.clear();
    const auto r = inflate_message(limited, reinterpret_cast<const uint8_t*>(z.data()), z.size(), s, out);
    if (s.no_context_takeover) require((r == Inflater::Result::Ok) == (n <= s.max_out));
    if (r == Inflater::Result::Ok) require(n <= s.max_out);
    pos += 1 + n;
  }
}

void fuzz_negotiation(std::string_view header) {
  DeflateConfig config;
  config.enabled = true;
  for (int bits : {15, 10}) {
    config.max_window_bits = bits;
    const auto server = negotiate_deflate(header, config);
    if (!server) continue;
    require(server->server_max_window_bits >= 9 && server->server_max_window_bits <= bits);
    const auto client = parse_deflate_response(deflate_response_header(*server));
    // An offer of client_max_window_bits=8 is answered with 8, which our own
    // client (it never offers a value) cannot compress with and refuses.
    require(client.has_value() == (server->client_max_window_bits != 8));
    if (!client) continue;
    require(client->server_max_window_bits == server->server_max_window_bits);
    require(client->server_no_context_takeover == server->server_no_context_takeover);
    require(client->client_no_context_takeover == server->client_no_context_takeover);
    // The client window is 15 both when named so and when not named at all.
    require(client->client_max_window_bits == server->client_max_window_bits);
  }
  parse_deflate_response(header);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  fuzz_negotiation(std::string_view(reinterpret_cast<const char*>(data), size));
  if (size < 2) return 0;
  const Setup s = read_setup(data);
  fuzz_inflater(data + 2, size - 2, s);
  fuzz_round_trip(data + 2, size - 2, s);
  return 0;
}
