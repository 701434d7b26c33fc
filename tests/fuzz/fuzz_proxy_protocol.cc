// Fuzzes ProxyHeaderParser and the X-Forwarded-For reading of forwarded.cc.
//
// Input: byte 0 picks the chunk size the bytes are fed in (0 = whole), byte 1
// picks a tight or the default v2 size limit; the rest is the connection's
// byte stream. The stream is parsed whole and chunked and both runs must
// agree. The same bytes are then read as an X-Forwarded-For value, an
// X-Real-IP value and a trusted proxy entry.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>

#include <sys/socket.h>

#include "core/forwarded.h"
#include "core/proxy_protocol.h"

using namespace wsd::core;

namespace {

void require(bool ok) {
  if (!ok) abort();
}

struct Seen {
  ProxyHeaderParser::State state;
  std::string error;
  size_t consumed;
  ProxyAddress address;
};

Seen run(const uint8_t* data, size_t size, size_t chunk, size_t max_v2) {
  ProxyHeaderParser parser(max_v2);
  size_t consumed = 0;
  for (size_t pos = 0; pos < size && parser.state() == ProxyHeaderParser::State::Incomplete;) {
    const size_t n = chunk == 0 ? size - pos : std::min(chunk, size - pos);
    const size_t used = parser.feed(data + pos, n);
    require(used <= n);
    if (parser.state() == ProxyHeaderParser::State::Incomplete) require(used == n);
    consumed += used;
    pos += n;
  }
  return {parser.state(), std::string(parser.error()), consumed, parser.address()};
}

// An address text must be one parse_ip reads back to the same text.
void check_text(const std::string& text) {
  const std::optional<IpAddress> ip = parse_ip(text);
  require(ip.has_value());
  require(ip->text() == text);
}

void check_done(const Seen& s, const uint8_t* data, size_t max_v2) {
  require(s.error.empty());
  const bool v1 = data[0] == 'P';
  require(s.consumed <= (v1 ? kProxyV1MaxLine : max_v2));
  if (v1) require(s.consumed >= 2 && data[s.consumed - 2] == '\r' && data[s.consumed - 1] == '\n');
  if (s.address.local) {
    require(s.address.family == 0 && s.address.src_text().empty());
    return;
  }
  require(s.address.family == AF_INET || s.address.family == AF_INET6);
  check_text(s.address.src_text());
  check_text(s.address.dst_text());
}

void same(const Seen& a, const Seen& b) {
  require(a.state == b.state && a.error == b.error);
  if (a.state == ProxyHeaderParser::State::Error) return;
  require(a.consumed == b.consumed);
  require(a.address.local == b.address.local && a.address.family == b.address.family);
  require(std::memcmp(a.address.src_addr, b.address.src_addr, 16) == 0);
  require(std::memcmp(a.address.dst_addr, b.address.dst_addr, 16) == 0);
  require(a.address.src_port == b.address.src_port && a.address.dst_port == b.address.dst_port);
}

void fuzz_forwarded(std::string_view text) {
  static const TrustedProxies trusted = [] {
    TrustedProxies t;
    std::string error;
    for (const char* e : {"10.0.0.0/8", "fd00::/8", "127.0.0.1", "::ffff:192.168.0.0/112"}) {
      require(t.add(e, error));
    }
    return t;
  }();
  const IpAddress peer = *parse_ip("10.0.0.1");
  for (const char* name : {"X-Forwarded-For", "X-Real-IP"}) {
    HttpRequest request;
    request.headers.push_back({name, std::string(text)});
    const std::optional<std::string> client = forwarded_client(peer, request, trusted);
    if (client) check_text(*client);
  }
  HttpRequest untrusted;
  untrusted.headers.push_back({"X-Forwarded-For", std::string(text)});
  require(!forwarded_client(*parse_ip("203.0.113.1"), untrusted, trusted).has_value());

  // An accepted entry contains its own address.
  TrustedProxies own;
  std::string error;
  if (own.add(text, error)) {
    require(error.empty());
    require(own.contains(*parse_ip(text.substr(0, text.find('/')))));
  } else {
    require(!error.empty() && own.empty());
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 3) return 0;
  const size_t chunk = data[0] % 32;
  const size_t max_v2 = (data[1] & 1) ? 16 + 36 : kDefaultProxyV2MaxBytes;
  const uint8_t* stream = data + 2;
  const size_t len = size - 2;
  const Seen whole = run(stream, len, 0, max_v2);
  if (whole.state == ProxyHeaderParser::State::Done) check_done(whole, stream, max_v2);
  if (whole.state == ProxyHeaderParser::State::Error) require(!whole.error.empty());
  if (chunk != 0) same(whole, run(stream, len, chunk, max_v2));
  fuzz_forwarded(std::string_view(reinterpret_cast<const char*>(stream), len));
  return 0;
}
