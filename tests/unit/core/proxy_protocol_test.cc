// Tests of core/proxy_protocol.cc. Every input is fed whole, one byte at a
// time and in several seeded random splits; all ways must agree on the state,
// the error text, the bytes consumed and the address.
#include "core/proxy_protocol.h"

#include <doctest/doctest.h>
#include <sys/socket.h>

#include <cstring>
#include <random>
#include <string>
#include <vector>

using wsd::core::ProxyAddress;
using wsd::core::ProxyHeaderParser;
using State = wsd::core::ProxyHeaderParser::State;

namespace {

struct Outcome {
  State state = State::Incomplete;
  size_t consumed = 0;
  std::string error;
  ProxyAddress address;
};

const uint8_t* bytes_of(const std::string& s) { return reinterpret_cast<const uint8_t*>(s.data()); }

// Feeds the pieces in order, stopping after the first piece that leaves the
// parser no longer Incomplete.
Outcome feed_pieces(const std::string& bytes, const std::vector<size_t>& sizes,
                    size_t max_v2 = wsd::core::kDefaultProxyV2MaxBytes) {
  ProxyHeaderParser parser(max_v2);
  Outcome out;
  size_t pos = 0;
  for (size_t size : sizes) {
    const size_t n = parser.feed(bytes_of(bytes) + pos, size);
    REQUIRE(n <= size);
    out.consumed += n;
    if (parser.state() != State::Incomplete) break;
    REQUIRE(n == size);  // an incomplete header takes everything it is given
    pos += size;
  }
  out.state = parser.state();
  out.error = std::string(parser.error());
  out.address = parser.address();
  CHECK((out.state == State::Error) == !out.error.empty());
  if (out.state != State::Incomplete) {
    const uint8_t more = 'G';
    CHECK(parser.feed(&more, 1) == 0);  // a finished parser takes nothing more
  }
  return out;
}

std::vector<size_t> random_split(size_t len, unsigned seed) {
  std::mt19937 rng(seed);
  std::vector<size_t> sizes;
  while (len > 0) {
    const size_t n = std::min<size_t>(len, 1 + rng() % 13);
    sizes.push_back(n);
    len -= n;
  }
  return sizes;
}

void check_same(const Outcome& a, const Outcome& b) {
  CHECK(a.state == b.state);
  CHECK(a.error == b.error);
  if (a.state == State::Error) return;  // the connection is closed; where it stopped is moot
  CHECK(a.consumed == b.consumed);
  CHECK(a.address.local == b.address.local);
  CHECK(a.address.family == b.address.family);
  CHECK(std::memcmp(a.address.src_addr, b.address.src_addr, 16) == 0);
  CHECK(std::memcmp(a.address.dst_addr, b.address.dst_addr, 16) == 0);
  CHECK(a.address.src_port == b.address.src_port);
  CHECK(a.address.dst_port == b.address.dst_port);
}

// Parses `bytes` whole, byte by byte and in five random splits.
Outcome parse(const std::string& bytes, size_t max_v2 = wsd::core::kDefaultProxyV2MaxBytes) {
  const Outcome whole = feed_pieces(bytes, {bytes.size()}, max_v2);
  {
    INFO("one byte at a time");
    check_same(whole, feed_pieces(bytes, std::vector<size_t>(bytes.size(), 1), max_v2));
  }
  for (unsigned seed = 1; seed <= 5; ++seed) {
    INFO("random split, seed " << seed);
    check_same(whole, feed_pieces(bytes, random_split(bytes.size(), seed), max_v2));
  }
  return whole;
}

// --- version 2 byte builders ------------------------------------------------

const std::string kSig("\x0D\x0A\x0D\x0A\x00\x0D\x0A\x51\x55\x49\x54\x0A", 12);

std::string be16(unsigned v) {
  return {static_cast<char>((v >> 8) & 0xFF), static_cast<char>(v & 0xFF)};
}

// A v2 header: signature, version/command, family/transport, `body`'s length
// (or `len` when given), body.
std::string v2(uint8_t ver_cmd, uint8_t fam, const std::string& body, int len = -1) {
  return kSig + static_cast<char>(ver_cmd) + static_cast<char>(fam) +
         be16(len < 0 ? static_cast<unsigned>(body.size()) : static_cast<unsigned>(len)) + body;
}

// 192.0.2.1:56324 -> 198.51.100.7:443
const std::string kBlock4 = std::string("\xC0\x00\x02\x01\xC6\x33\x64\x07", 8) + be16(56324) +
                            be16(443);
// 2001:db8::1:1234 -> 2001:db8::2:80
const std::string kBlock6 =
    std::string("\x20\x01\x0d\xb8\0\0\0\0\0\0\0\0\0\0\0\x01", 16) +
    std::string("\x20\x01\x0d\xb8\0\0\0\0\0\0\0\0\0\0\0\x02", 16) + be16(1234) + be16(80);

std::string tlv(uint8_t type, const std::string& value) {
  return static_cast<char>(type) + be16(static_cast<unsigned>(value.size())) + value;
}

const std::string kHttp = "GET / HTTP/1.1\r\nHost: example.com\r\n\r\n";
const std::string kV6Max = "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff";

}  // namespace

TEST_CASE("proxy v1: valid lines") {
  struct Case {
    std::string line;
    bool local;
    int family;
    const char* src;
    const char* dst;
    uint16_t src_port;
    uint16_t dst_port;
  };
  const Case cases[] = {
      {"PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\n", false, AF_INET, "192.168.0.1",
       "192.168.0.11", 56324, 443},
      {"PROXY TCP4 255.255.255.255 255.255.255.255 65535 65535\r\n", false, AF_INET,
       "255.255.255.255", "255.255.255.255", 65535, 65535},
      {"PROXY TCP4 0.0.0.0 10.0.0.1 0 0\r\n", false, AF_INET, "0.0.0.0", "10.0.0.1", 0, 0},
      {"PROXY TCP6 2001:db8::1 2001:db8::2 1 2\r\n", false, AF_INET6, "2001:db8::1",
       "2001:db8::2", 1, 2},
      {"PROXY TCP6 2001:DB8:0:0:0:0:0:1 ::1 8080 80\r\n", false, AF_INET6, "2001:db8::1", "::1",
       8080, 80},
      {"PROXY TCP6 ::ffff:192.0.2.1 :: 10 20\r\n", false, AF_INET6, "::ffff:192.0.2.1", "::", 10,
       20},
      // The longest TCP6 line: 104 bytes.
      {"PROXY TCP6 " + kV6Max + " " + kV6Max + " 65535 65535\r\n", false, AF_INET6,
       "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
       65535, 65535},
      {"PROXY UNKNOWN\r\n", true, 0, "", "", 0, 0},
      {"PROXY UNKNOWN 1.2.3.4 5.6.7.8 1 2\r\n", true, 0, "", "", 0, 0},
      {"PROXY UNKNOWN anything at all, even \x01\x7f and two  spaces\r\n", true, 0, "", "", 0, 0},
      // The worst case the spec names: 107 bytes.
      {"PROXY UNKNOWN " + kV6Max + " " + kV6Max + " 65535 65535\r\n", true, 0, "", "", 0, 0},
  };
  for (const Case& c : cases) {
    CAPTURE(c.line);
    for (const std::string& tail : {std::string(), kHttp}) {
      const Outcome o = parse(c.line + tail);
      REQUIRE(o.state == State::Done);
      CHECK(o.consumed == c.line.size());  // the HTTP request stays with the caller
      CHECK(o.address.local == c.local);
      CHECK(o.address.family == c.family);
      CHECK(o.address.src_text() == c.src);
      CHECK(o.address.dst_text() == c.dst);
      CHECK(o.address.src_port == c.src_port);
      CHECK(o.address.dst_port == c.dst_port);
    }
  }
}

TEST_CASE("proxy v1: invalid lines") {
  struct Case {
    std::string bytes;
    const char* error;
  };
  const Case cases[] = {
      {"GET / HTTP/1.1\r\n\r\n", "not a PROXY protocol header"},
      {"proxy TCP4 1.2.3.4 5.6.7.8 1 2\r\n", "not a PROXY protocol header"},
      {"PROXYTCP4 1.2.3.4 5.6.7.8 1 2\r\n", "not a PROXY protocol header"},
      {"PROX\r\n", "not a PROXY protocol header"},
      {std::string("\0PROXY", 6), "not a PROXY protocol header"},
      {"PROXY  TCP4 1.2.3.4 5.6.7.8 1 2\r\n", "v1: unknown protocol"},
      {"PROXY TCP5 1.2.3.4 5.6.7.8 1 2\r\n", "v1: unknown protocol"},
      {"PROXY tcp4 1.2.3.4 5.6.7.8 1 2\r\n", "v1: unknown protocol"},
      {"PROXY UDP4 1.2.3.4 5.6.7.8 1 2\r\n", "v1: unknown protocol"},
      {"PROXY UNKNOWNX\r\n", "v1: unknown protocol"},
      {"PROXY \r\n", "v1: unknown protocol"},
      {"PROXY TCP4\r\n", "v1: malformed line"},
      {"PROXY TCP4 1.2.3.4 5.6.7.8 1\r\n", "v1: malformed line"},
      {"PROXY TCP4 1.2.3.4 5.6.7.8 1 2 3\r\n", "v1: malformed line"},
      {"PROXY TCP4 1.2.3.4  5.6.7.8 1 2\r\n", "v1: malformed line"},
      {"PROXY TCP4 1.2.3.4 5.6.7.8 1 2 \r\n", "v1: malformed line"},
      {"PROXY TCP4 1.2.3.4 5.6.7.8  1 2\r\n", "v1: malformed line"},
      {"PROXY TCP4 1.2.3.4\t5.6.7.8 1 2\r\n", "v1: malformed line"},
      {"PROXY TCP4 2001:db8::1 5.6.7.8 1 2\r\n", "v1: bad source address"},
      {"PROXY TCP6 1.2.3.4 ::1 1 2\r\n", "v1: bad source address"},
      {"PROXY TCP4 01.2.3.4 5.6.7.8 1 2\r\n", "v1: bad source address"},
      {"PROXY TCP4 1.2.3.04 5.6.7.8 1 2\r\n", "v1: bad source address"},
      {"PROXY TCP4 1.2.3 5.6.7.8 1 2\r\n", "v1: bad source address"},
      {"PROXY TCP4 1.2.3.4.5 5.6.7.8 1 2\r\n", "v1: bad source address"},
      {"PROXY TCP4 256.2.3.4 5.6.7.8 1 2\r\n", "v1: bad source address"},
      {"PROXY TCP4 0x1.2.3.4 5.6.7.8 1 2\r\n", "v1: bad source address"},
      {"PROXY TCP4 localhost 5.6.7.8 1 2\r\n", "v1: bad source address"},
      {std::string("PROXY TCP4 1.2.3.4\0 5.6.7.8 1 2\r\n", 33), "v1: bad source address"},
      {"PROXY TCP6 [::1] ::1 1 2\r\n", "v1: bad source address"},
      {"PROXY TCP6 fe80::1%eth0 ::1 1 2\r\n", "v1: bad source address"},
      {"PROXY TCP6 1:2:3:4:5:6:7:8:9 ::1 1 2\r\n", "v1: bad source address"},
      {"PROXY TCP4 1.2.3.4 5.6.7.8x 1 2\r\n", "v1: bad destination address"},
      {"PROXY TCP6 ::1 ::1::2 1 2\r\n", "v1: bad destination address"},
      {"PROXY TCP4 1.2.3.4 5.6.7.8 65536 2\r\n", "v1: bad source port"},
      {"PROXY TCP4 1.2.3.4 5.6.7.8 -1 2\r\n", "v1: bad source port"},
      {"PROXY TCP4 1.2.3.4 5.6.7.8 +1 2\r\n", "v1: bad source port"},
      {"PROXY TCP4 1.2.3.4 5.6.7.8 01 2\r\n", "v1: bad source port"},
      {"PROXY TCP4 1.2.3.4 5.6.7.8 00 2\r\n", "v1: bad source port"},
      {"PROXY TCP4 1.2.3.4 5.6.7.8 1a 2\r\n", "v1: bad source port"},
      {"PROXY TCP4 1.2.3.4 5.6.7.8 100000 2\r\n", "v1: bad source port"},
      {"PROXY TCP4 1.2.3.4 5.6.7.8 1 99999\r\n", "v1: bad destination port"},
      {"PROXY TCP4 1.2.3.4 5.6.7.8 1 0x10\r\n", "v1: bad destination port"},
      {"PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n", "v1: LF without CR"},
      {"PROXY UNKNOWN\n", "v1: LF without CR"},
      {"PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\r\n", "v1: CR not followed by LF"},
      {"PROXY TCP4 1.2.3.4\r 5.6.7.8 1 2\r\n", "v1: CR not followed by LF"},
      // 108 bytes: one more than the longest line allowed.
      {"PROXY UNKNOWN " + kV6Max + " " + kV6Max + " 65535 655350\r\n",
       "v1: line longer than 107 bytes"},
      {"PROXY TCP4 " + std::string(200, '1'), "v1: line longer than 107 bytes"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.bytes);
    const Outcome o = parse(c.bytes + kHttp);
    CHECK(o.state == State::Error);
    CHECK(o.error == c.error);
  }
}

TEST_CASE("proxy: a client speaking HTTP straight away is refused on its first byte") {
  ProxyHeaderParser parser;
  CHECK(parser.feed(bytes_of(kHttp), kHttp.size()) == 1);
  CHECK(parser.state() == State::Error);
}

TEST_CASE("proxy v1: the line may be up to 107 bytes, not one more") {
  const std::string head = "PROXY UNKNOWN ";
  for (size_t total = 100; total <= 110; ++total) {
    CAPTURE(total);
    const std::string line = head + std::string(total - head.size() - 2, 'x') + "\r\n";
    REQUIRE(line.size() == total);
    const Outcome o = parse(line);
    CHECK(o.state == (total <= 107 ? State::Done : State::Error));
  }
}

TEST_CASE("proxy v2: valid headers") {
  struct Case {
    const char* name;
    std::string header;
    bool local;
    int family;
    const char* src;
    const char* dst;
    uint16_t src_port;
    uint16_t dst_port;
  };
  const std::string tlvs = tlv(0x01, "http/1.1") + tlv(0x04, std::string(5, '\0')) +
                           tlv(0x05, std::string(128, '\x7f')) +
                           tlv(0x20, std::string("\x01\0\0\0\0", 5)) + tlv(0xE0, "");
  const Case cases[] = {
      {"TCP over IPv4", v2(0x21, 0x11, kBlock4), false, AF_INET, "192.0.2.1", "198.51.100.7",
       56324, 443},
      {"TCP over IPv6", v2(0x21, 0x21, kBlock6), false, AF_INET6, "2001:db8::1", "2001:db8::2",
       1234, 80},
      {"IPv4 with TLVs", v2(0x21, 0x11, kBlock4 + tlvs), false, AF_INET, "192.0.2.1",
       "198.51.100.7", 56324, 443},
      {"IPv6 with TLVs", v2(0x21, 0x21, kBlock6 + tlvs), false, AF_INET6, "2001:db8::1",
       "2001:db8::2", 1234, 80},
      {"TLV bytes are not parsed", v2(0x21, 0x11, kBlock4 + "\xff\xff"), false, AF_INET,
       "192.0.2.1", "198.51.100.7", 56324, 443},
      {"LOCAL without addresses", v2(0x20, 0x00, ""), true, 0, "", "", 0, 0},
      {"LOCAL with addresses", v2(0x20, 0x11, kBlock4), true, 0, "", "", 0, 0},
      {"LOCAL ignores the family", v2(0x20, 0xFF, "abc"), true, 0, "", "", 0, 0},
      {"LOCAL with a short block", v2(0x20, 0x21, kBlock4), true, 0, "", "", 0, 0},
      {"PROXY UNSPEC", v2(0x21, 0x00, ""), true, 0, "", "", 0, 0},
      {"PROXY UNSPEC with bytes", v2(0x21, 0x00, kBlock4), true, 0, "", "", 0, 0},
      {"PROXY IPv4 without transport", v2(0x21, 0x10, ""), true, 0, "", "", 0, 0},
      {"UDP over IPv4", v2(0x21, 0x12, kBlock4), true, 0, "", "", 0, 0},
      {"UDP over IPv6", v2(0x21, 0x22, kBlock6), true, 0, "", "", 0, 0},
      {"UNIX stream", v2(0x21, 0x31, std::string(216, '/')), true, 0, "", "", 0, 0},
      {"UNIX datagram with TLVs", v2(0x21, 0x32, std::string(216, '/') + tlvs), true, 0, "", "",
       0, 0},
      {"exactly the size limit",
       v2(0x21, 0x11, kBlock4 + tlv(0x04, std::string(1024 - 16 - 12 - 3, 'n'))), false, AF_INET,
       "192.0.2.1", "198.51.100.7", 56324, 443},
  };
  for (const Case& c : cases) {
    INFO(c.name);
    for (const std::string& tail : {std::string(), kHttp}) {
      const Outcome o = parse(c.header + tail);
      REQUIRE(o.state == State::Done);
      CHECK(o.consumed == c.header.size());
      CHECK(o.address.local == c.local);
      CHECK(o.address.family == c.family);
      CHECK(o.address.src_text() == c.src);
      CHECK(o.address.dst_text() == c.dst);
      CHECK(o.address.src_port == c.src_port);
      CHECK(o.address.dst_port == c.dst_port);
    }
  }
}

TEST_CASE("proxy v2: invalid headers") {
  struct Case {
    const char* name;
    std::string bytes;
    const char* error;
  };
  const Case cases[] = {
      {"version 1 in the binary format", v2(0x11, 0x11, kBlock4), "v2: unsupported version"},
      {"version 3", v2(0x31, 0x11, kBlock4), "v2: unsupported version"},
      {"version 0", v2(0x01, 0x11, kBlock4), "v2: unsupported version"},
      {"command 2", v2(0x22, 0x11, kBlock4), "v2: unknown command"},
      {"command 15", v2(0x2F, 0x11, kBlock4), "v2: unknown command"},
      {"family 4", v2(0x21, 0x41, kBlock4), "v2: unknown address family or transport"},
      {"family 15", v2(0x21, 0xF1, kBlock4), "v2: unknown address family or transport"},
      {"transport 3", v2(0x21, 0x13, kBlock4), "v2: unknown address family or transport"},
      {"IPv4 block too short", v2(0x21, 0x11, kBlock4.substr(0, 11)),
       "v2: length shorter than the address block"},
      {"IPv6 family, IPv4 block", v2(0x21, 0x21, kBlock4),
       "v2: length shorter than the address block"},
      {"UDP block too short", v2(0x21, 0x12, ""), "v2: length shorter than the address block"},
      {"UNIX block too short", v2(0x21, 0x31, std::string(215, '/')),
       "v2: length shorter than the address block"},
      {"one byte over the limit",
       v2(0x21, 0x11, kBlock4 + tlv(0x04, std::string(1024 - 16 - 12 - 3 + 1, 'n'))),
       "v2: header longer than the limit"},
      {"the spec maximum", v2(0x21, 0x11, kBlock4, 65535), "v2: header longer than the limit"},
      {"LOCAL over the limit", v2(0x20, 0x00, "", 2000), "v2: header longer than the limit"},
  };
  for (const Case& c : cases) {
    INFO(c.name);
    const Outcome o = parse(c.bytes + kHttp);
    CHECK(o.state == State::Error);
    CHECK(o.error == c.error);
  }
}

TEST_CASE("proxy v2: any wrong signature byte is refused as soon as it arrives") {
  const std::string good = v2(0x21, 0x11, kBlock4);
  for (size_t i = 0; i < kSig.size(); ++i) {
    CAPTURE(i);
    std::string bad = good;
    bad[i] = static_cast<char>(bad[i] ^ 0x20);
    ProxyHeaderParser parser;
    CHECK(parser.feed(bytes_of(bad), bad.size()) == i + 1);
    CHECK(parser.state() == State::Error);
    CHECK(parser.error() == "not a PROXY protocol header");
    CHECK(parse(bad).state == State::Error);
  }
}

TEST_CASE("proxy v2: the size limit is a parameter") {
  const std::string six = v2(0x21, 0x21, kBlock6);
  CHECK(parse(six, 52).state == State::Done);
  CHECK(parse(v2(0x21, 0x21, kBlock6 + "x"), 52).error == "v2: header longer than the limit");
  CHECK(parse(six, 51).error == "v2: header longer than the limit");
  CHECK(parse(v2(0x21, 0x11, kBlock4 + std::string(60000, 't')), 65535 + 16).state ==
        State::Done);
}

TEST_CASE("proxy: every strict prefix of a valid header is Incomplete") {
  const std::string headers[] = {
      "PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\n",
      "PROXY TCP6 2001:db8::1 2001:db8::2 1 2\r\n",
      "PROXY UNKNOWN\r\n",
      v2(0x21, 0x11, kBlock4),
      v2(0x21, 0x21, kBlock6 + tlv(0x01, "h2")),
      v2(0x20, 0x00, ""),
      v2(0x21, 0x31, std::string(216, '/')),
  };
  for (const std::string& h : headers) {
    CAPTURE(h);
    for (size_t n = 0; n < h.size(); ++n) {
      const Outcome o = parse(h.substr(0, n));
      CHECK(o.state == State::Incomplete);
      CHECK(o.consumed == n);
    }
    CHECK(parse(h).state == State::Done);
  }
}
