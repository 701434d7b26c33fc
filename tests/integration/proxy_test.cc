// Behind a proxy: the PROXY protocol (v1 text, v2 binary) on a listener with
// proxy_protocol: true, and X-Forwarded-For / X-Real-IP, each believed only
// from trusted_proxies. get_client_info and the open event report the real
// client; the TCP peer stays available (info's peer fields, the open event's
// peer=). Every wait is bounded; everything listens on 127.0.0.1.
#include <doctest/doctest.h>
#include <arpa/inet.h>
#include <sys/socket.h>

#include <chrono>
#include <string>
#include <thread>

#include "test_helpers.h"
#include "tls_certs.h"
#include "ws_client.h"
#include "wsd_server.h"

using namespace wsd::test;
using namespace std::chrono_literals;

namespace {

const char kTrustLocal[] = "trusted_proxies: [\"127.0.0.1\"]\n";

std::string proxy_config(const std::string& trusted = kTrustLocal, const std::string& extra = {}) {
  return probe_config("proxy_protocol: true\n" + trusted + extra);
}

std::string v1(const std::string& family, const std::string& src, const std::string& dst, int sport, int dport) {
  return "PROXY " + family + " " + src + " " + dst + " " + std::to_string(sport) + " " + std::to_string(dport) +
         "\r\n";
}

// A version 2 header. command: 1 PROXY, 0 LOCAL. `tlv` bytes are appended
// after the addresses (counted in the length).
std::string v2(int command, int family, const std::string& src, const std::string& dst, uint16_t sport,
               uint16_t dport, const std::string& tlv = {}) {
  std::string h("\r\n\r\n\0\r\nQUIT\n", 12);
  h += static_cast<char>(0x20 | command);
  std::string addr;
  if (family == AF_INET || family == AF_INET6) {
    uint8_t s[16], d[16];
    inet_pton(family, src.c_str(), s);
    inet_pton(family, dst.c_str(), d);
    size_t n = family == AF_INET ? 4 : 16;
    addr.append(reinterpret_cast<char*>(s), n);
    addr.append(reinterpret_cast<char*>(d), n);
    addr += static_cast<char>(sport >> 8);
    addr += static_cast<char>(sport & 0xFF);
    addr += static_cast<char>(dport >> 8);
    addr += static_cast<char>(dport & 0xFF);
    h += static_cast<char>(family == AF_INET ? 0x11 : 0x21);   // TCP over IPv4 / IPv6
  } else {
    h += static_cast<char>(0x00);   // UNSPEC
  }
  size_t len = addr.size() + tlv.size();
  h += static_cast<char>(len >> 8);
  h += static_cast<char>(len & 0xFF);
  return h + addr + tlv;
}

// A PP2_TYPE_AUTHORITY TLV (ignored by wsd, must be skipped).
std::string authority_tlv(const std::string& host) {
  std::string t;
  t += static_cast<char>(0x02);
  t += static_cast<char>(host.size() >> 8);
  t += static_cast<char>(host.size() & 0xFF);
  return t + host;
}

// After `header` (and the WebSocket handshake) is the connection open, and
// which client does the probe see?
struct Proxied {
  bool opened = false;
  ClientInfo info;
  uint16_t local_port = 0;
  std::string open_event;
};

Proxied open_through(const WsdServer& server, const std::string& header) {
  Proxied p;
  WsClient c;
  c.set_preamble(header);
  if (!c.connect(server.port())) return p;
  p.local_port = c.local_port();
  if (c.handshake("/").status != 101) return p;
  p.opened = true;
  p.info = client_info(c);
  Whoami me = whoami(c);
  std::vector<std::string> opens = settled_events(server, "open " + std::to_string(me.id) + " ", 5s, 0ms);
  if (!opens.empty()) p.open_event = opens[0];
  return p;
}

// The server closes the connection without answering the handshake.
bool refused(uint16_t port, const std::string& header, bool separate_writes = true) {
  WsClient c(3s);
  if (!c.connect(port)) return false;
  if (separate_writes) {
    if (!header.empty() && !c.send_raw(header)) return true;   // already closed
    HttpReply r = c.handshake("/");
    if (r.status != 0) return false;
  } else {
    if (!c.send_raw(header + upgrade_request("/", "dGhlIHNhbXBsZSBub25jZQ=="))) return true;
  }
  return c.wait_eof();
}

}  // namespace

TEST_CASE("proxy: a PROXY v1 header from a trusted proxy names the real client") {
  WsdServer server({proxy_config()});
  REQUIRE_MESSAGE(server.started(), server.log());

  SUBCASE("TCP4, header in a write of its own") {
    Proxied p = open_through(server, v1("TCP4", "203.0.113.7", "127.0.0.1", 51234, server.port()));
    REQUIRE_MESSAGE(p.opened, server.log());
    REQUIRE_MESSAGE(p.info.ok, p.info.text);
    CHECK(p.info.ip == "203.0.113.7");
    CHECK(p.info.port == 51234);
    CHECK(p.info.server_port == server.port());
    CHECK(p.info.tls == 0);
    CHECK(p.info.peer_ip == "127.0.0.1");
    CHECK(p.info.peer_port == p.local_port);
    CAPTURE(p.open_event);
    CHECK(event_field(p.open_event, "remote") == "203.0.113.7");
    CHECK(event_field(p.open_event, "remote_port") == "51234");
    CHECK(event_field(p.open_event, "peer") == "127.0.0.1");
    CHECK(event_field(p.open_event, "peer_port") == std::to_string(p.local_port));
  }
  SUBCASE("TCP6") {
    Proxied p = open_through(server, v1("TCP6", "2001:db8::7", "::1", 40000, 443));
    REQUIRE_MESSAGE(p.opened, server.log());
    CHECK_MESSAGE(p.info.ip == "2001:db8::7", p.info.text);
    CHECK(p.info.port == 40000);
    CHECK(p.info.peer_ip == "127.0.0.1");
    CHECK(event_field(p.open_event, "remote") == "2001:db8::7");
  }
  SUBCASE("UNKNOWN: the peer's own address") {
    Proxied p = open_through(server, "PROXY UNKNOWN\r\n");
    REQUIRE_MESSAGE(p.opened, server.log());
    CHECK_MESSAGE(p.info.ip == "127.0.0.1", p.info.text);
    CHECK(p.info.port == p.local_port);
  }
  SUBCASE("header and request in one write") {
    WsClient c;
    REQUIRE(c.connect(server.port()));
    REQUIRE(c.send_raw(v1("TCP4", "203.0.113.8", "127.0.0.1", 50001, server.port()) +
                       upgrade_request("/", "dGhlIHNhbXBsZSBub25jZQ==", "User-Agent: one-write\r\n")));
    HttpReply r = c.http("");
    CHECK(r.status == 101);
    std::vector<std::string> opens = settled_events(server, "open ", 5s, 0ms);
    REQUIRE(opens.size() == 1);
    CHECK(contains(opens[0], "ua=one-write"));
    CHECK(event_field(opens[0], "remote") == "203.0.113.8");
    CHECK(event_field(opens[0], "remote_port") == "50001");
  }
}

TEST_CASE("proxy: PROXY v2 headers, IPv4 and IPv6, with TLVs, split anywhere") {
  WsdServer server({proxy_config()});
  REQUIRE_MESSAGE(server.started(), server.log());

  SUBCASE("IPv4") {
    Proxied p = open_through(server, v2(1, AF_INET, "203.0.113.7", "127.0.0.1", 51234, server.port()));
    REQUIRE_MESSAGE(p.opened, server.log());
    CHECK_MESSAGE(p.info.ip == "203.0.113.7", p.info.text);
    CHECK(p.info.port == 51234);
    CHECK(p.info.peer_ip == "127.0.0.1");
    CHECK(event_field(p.open_event, "remote") == "203.0.113.7");
  }
  SUBCASE("IPv6 with a TLV") {
    Proxied p = open_through(server, v2(1, AF_INET6, "2001:db8::42", "2001:db8::1", 61000, 443,
                                        authority_tlv("chat.example")));
    REQUIRE_MESSAGE(p.opened, server.log());
    CHECK_MESSAGE(p.info.ip == "2001:db8::42", p.info.text);
    CHECK(p.info.port == 61000);
    CHECK(p.info.peer_ip == "127.0.0.1");
    CHECK(event_field(p.open_event, "remote") == "2001:db8::42");
    CHECK(event_field(p.open_event, "remote_port") == "61000");
  }
  SUBCASE("IPv4 with 900 bytes of TLVs") {
    std::string tlvs;
    for (int i = 0; i < 9; ++i) tlvs += authority_tlv(std::string(97, static_cast<char>('a' + i)));
    Proxied p = open_through(server, v2(1, AF_INET, "203.0.113.9", "127.0.0.1", 9999, server.port(), tlvs));
    REQUIRE_MESSAGE(p.opened, server.log());
    CHECK_MESSAGE(p.info.ip == "203.0.113.9", p.info.text);
    CHECK(p.info.port == 9999);
  }
  SUBCASE("LOCAL (a health check): the peer's own address") {
    Proxied p = open_through(server, v2(0, 0, {}, {}, 0, 0));
    REQUIRE_MESSAGE(p.opened, server.log());
    CHECK_MESSAGE(p.info.ip == "127.0.0.1", p.info.text);
    CHECK(p.info.port == p.local_port);
  }
  SUBCASE("byte by byte") {
    std::string header = v2(1, AF_INET, "198.51.100.77", "127.0.0.1", 1234, server.port());
    WsClient c;
    REQUIRE(c.connect(server.port()));
    for (char b : header) {
      REQUIRE(c.send_raw(std::string(1, b)));
      std::this_thread::sleep_for(2ms);
    }
    REQUIRE(c.handshake("/").status == 101);
    ClientInfo info = client_info(c);
    CHECK_MESSAGE(info.ip == "198.51.100.77", info.text);
    CHECK(info.port == 1234);
  }
}

TEST_CASE("proxy: a malformed header, or none, closes that connection alone") {
  WsdServer server({proxy_config()});
  REQUIRE_MESSAGE(server.started(), server.log());
  WsClient bystander;
  bystander.set_preamble(v1("TCP4", "203.0.113.1", "127.0.0.1", 1111, server.port()));
  REQUIRE(bystander.connect(server.port()));
  REQUIRE(bystander.handshake("/").status == 101);   // the probe echoes what is not a command

  CHECK(refused(server.port(), ""));   // no header: the request itself is not one
  CHECK(refused(server.port(), "", false));
  CHECK(refused(server.port(), "PROXY TCP4 999.0.113.7 127.0.0.1 51234 80\r\n"));
  CHECK(refused(server.port(), "PROXY TCP4 203.0.113.7 127.0.0.1 51234\r\n"));          // a field missing
  CHECK(refused(server.port(), "PROXY TCP4 203.0.113.7 127.0.0.1 99999 80\r\n"));       // port out of range
  CHECK(refused(server.port(), "PROXY TCP6 203.0.113.7 127.0.0.1 51234 80\r\n"));       // family mismatch
  CHECK(refused(server.port(), "PROXY XYZ\r\n"));
  CHECK(refused(server.port(), "PROXY TCP4 203.0.113.7 127.0.0.1 51234 80\n"));         // LF without CR
  CHECK(refused(server.port(), "PROXY " + std::string(200, '1') + "\r\n"));              // longer than 107 bytes
  std::string bad_version = v2(1, AF_INET, "203.0.113.7", "127.0.0.1", 1, 2);
  bad_version[12] = 0x31;   // version 3
  CHECK(refused(server.port(), bad_version));
  std::string short_block = v2(1, AF_INET6, "2001:db8::1", "2001:db8::2", 1, 2);
  short_block[15] = 12;     // IPv6 in 12 bytes
  CHECK(refused(server.port(), short_block.substr(0, 16 + 12)));
  std::string huge = v2(1, AF_INET, "203.0.113.7", "127.0.0.1", 1, 2);
  huge[14] = static_cast<char>(0xFF);   // announces 65535 bytes
  huge[15] = static_cast<char>(0xFF);
  CHECK(refused(server.port(), huge));
  {
    // A header twice: the second stands where the HTTP request should be, and
    // is not HTTP (the answer may be a 400; never an upgrade).
    WsClient twice(3s);
    twice.set_preamble(v1("TCP4", "203.0.113.7", "127.0.0.1", 1, 2) + v1("TCP4", "203.0.113.9", "127.0.0.1", 1, 2));
    REQUIRE(twice.connect(server.port()));
    CHECK(twice.handshake("/").status != 101);
    CHECK(twice.wait_eof());
  }

  // A client that says nothing is dropped after handshake_timeout (10s
  // default here; not waited for), and everyone else is served.
  CHECK(bystander.send_text("still here"));
  CHECK(receive_text(bystander) == "still here");
  Proxied p = open_through(server, v1("TCP4", "203.0.113.2", "127.0.0.1", 2222, server.port()));
  CHECK(p.opened);
  CHECK(p.info.ip == "203.0.113.2");
  CHECK(wait_table_count(bystander, 1) == 1);   // no refused connection left in the table
}

TEST_CASE("proxy: a PROXY header that never completes is dropped after handshake_timeout") {
  WsdServer server({proxy_config(kTrustLocal, "handshake_timeout: 1s\n")});
  REQUIRE_MESSAGE(server.started(), server.log());
  WsClient silent(5s);
  REQUIRE(silent.connect(server.port()));
  WsClient partial(5s);
  REQUIRE(partial.connect(server.port()));
  REQUIRE(partial.send_raw("PROXY TCP4 203.0.113.7 "));
  WsClient partial_v2(5s);
  REQUIRE(partial_v2.connect(server.port()));
  REQUIRE(partial_v2.send_raw(v2(1, AF_INET, "203.0.113.7", "127.0.0.1", 1, 2).substr(0, 20)));
  auto start = std::chrono::steady_clock::now();
  CHECK(silent.wait_eof());
  CHECK(partial.wait_eof());
  CHECK(partial_v2.wait_eof());
  CHECK(std::chrono::steady_clock::now() - start < 4s);
  Proxied p = open_through(server, v1("TCP4", "203.0.113.2", "127.0.0.1", 2222, server.port()));
  CHECK(p.opened);
}

TEST_CASE("proxy: a PROXY header from an untrusted peer closes the connection") {
  WsdServer server({proxy_config("trusted_proxies: [\"10.0.0.1\", \"192.0.2.0/24\"]\n")});
  REQUIRE_MESSAGE(server.started(), server.log());
  CHECK(refused(server.port(), v1("TCP4", "203.0.113.7", "127.0.0.1", 51234, server.port())));
  CHECK(refused(server.port(), v2(1, AF_INET, "203.0.113.7", "127.0.0.1", 51234, server.port())));
  CHECK(refused(server.port(), ""));
  for (const std::string& e : server.events()) CHECK_FALSE(contains(e, "open "));
}

// An L4 proxy (HAProxy in TCP mode) passes the client's bytes through: the
// HTTP headers after a PROXY header were written by the client named in it,
// not by the trusted proxy. X-Forwarded-For is only believed when that client
// is itself a trusted proxy (an HTTP proxy behind the L4 one).
TEST_CASE("proxy: X-Forwarded-For behind a PROXY header is judged by the PROXY source") {
  WsdServer server({proxy_config("trusted_proxies: [\"127.0.0.1\", \"10.1.2.3\"]\n")});
  REQUIRE_MESSAGE(server.started(), server.log());

  SUBCASE("the client named by the PROXY header is not trusted: its X-Forwarded-For is ignored") {
    WsClient c;
    c.set_preamble(v1("TCP4", "203.0.113.7", "127.0.0.1", 51234, server.port()));
    REQUIRE(c.connect(server.port()));
    REQUIRE(c.handshake("/", {"X-Forwarded-For: 198.51.100.66", "X-Real-IP: 198.51.100.67"}).status == 101);
    ClientInfo info = client_info(c);
    CHECK_MESSAGE(info.ip == "203.0.113.7", info.text);
    CHECK(info.port == 51234);
  }
  SUBCASE("the PROXY source is a trusted HTTP proxy: its X-Forwarded-For names the client") {
    WsClient c;
    c.set_preamble(v1("TCP4", "10.1.2.3", "127.0.0.1", 51234, server.port()));
    REQUIRE(c.connect(server.port()));
    REQUIRE(c.handshake("/", {"X-Forwarded-For: 198.51.100.66"}).status == 101);
    ClientInfo info = client_info(c);
    CHECK_MESSAGE(info.ip == "198.51.100.66", info.text);
  }
}

TEST_CASE("proxy: PROXY header in front of TLS") {
  ServerOptions o{proxy_config(kTrustLocal, tls_listener_keys())};
  o.prepare = [](const std::string& dir) { make_test_certs(dir); };
  WsdServer server(o);
  REQUIRE_MESSAGE(server.started(), server.log());
  TestCerts certs{server.dir()};
  WsClient c;
  c.set_preamble(v2(1, AF_INET6, "2001:db8::99", "2001:db8::1", 44300, 443));
  REQUIRE_MESSAGE(c.connect_tls(server.port(), certs.ca()), (c.tls_error() + "\n" + server.log()));
  REQUIRE(c.handshake("/").status == 101);
  ClientInfo info = client_info(c);
  CHECK_MESSAGE(info.ip == "2001:db8::99", info.text);
  CHECK(info.port == 44300);
  CHECK(info.tls == 1);
  CHECK(info.peer_ip == "127.0.0.1");
  CHECK(info.peer_port == c.local_port());
  // The header and the ClientHello in one TCP segment: the header's bytes
  // alone are taken before TLS starts.
  WsClient together;
  together.set_preamble(v1("TCP4", "203.0.113.77", "127.0.0.1", 7777, server.port()), true);
  REQUIRE_MESSAGE(together.connect_tls(server.port(), certs.ca()), together.tls_error());
  REQUIRE(together.handshake("/").status == 101);
  info = client_info(together);
  CHECK_MESSAGE(info.ip == "203.0.113.77", info.text);
  CHECK(info.tls == 1);
  // TLS without the header first: refused.
  WsClient bare(3s);
  CHECK_FALSE(bare.connect_tls(server.port(), certs.ca()));
}

TEST_CASE("proxy: X-Forwarded-For and X-Real-IP from trusted_proxies only") {
  SUBCASE("trusted peer") {
    WsdServer server({probe_config(kTrustLocal)});
    REQUIRE_MESSAGE(server.started(), server.log());
    WsClient c;
    REQUIRE(c.connect(server.port()));
    REQUIRE(c.handshake("/", {"X-Forwarded-For: 198.51.100.9"}).status == 101);
    ClientInfo info = client_info(c);
    REQUIRE_MESSAGE(info.ok, info.text);
    CHECK(info.ip == "198.51.100.9");
    CHECK(info.port == 0);   // the header carries no port
    CHECK(info.peer_ip == "127.0.0.1");
    CHECK(info.peer_port == c.local_port());
    Whoami me = whoami(c);
    std::vector<std::string> opens = settled_events(server, "open " + std::to_string(me.id) + " ", 5s, 0ms);
    REQUIRE(opens.size() == 1);
    CHECK(event_field(opens[0], "remote") == "198.51.100.9");
    CHECK(event_field(opens[0], "peer") == "127.0.0.1");

    // A chain: read from the right, trusted hops skipped.
    WsClient chain;
    REQUIRE(chain.connect(server.port()));
    REQUIRE(chain.handshake("/", {"X-Forwarded-For: 203.0.113.50, 198.51.100.10", "X-Forwarded-For: 127.0.0.1"})
                .status == 101);
    info = client_info(chain);
    CHECK_MESSAGE(info.ip == "198.51.100.10", info.text);

    // X-Real-IP when there is no X-Forwarded-For.
    WsClient real;
    REQUIRE(real.connect(server.port()));
    REQUIRE(real.handshake("/", {"X-Real-IP: 198.51.100.11"}).status == 101);
    info = client_info(real);
    CHECK_MESSAGE(info.ip == "198.51.100.11", info.text);
    CHECK(info.port == 0);

    // Garbage is not believed.
    WsClient junk;
    REQUIRE(junk.connect(server.port()));
    REQUIRE(junk.handshake("/", {"X-Forwarded-For: not-an-address"}).status == 101);
    info = client_info(junk);
    CHECK_MESSAGE(info.ip == "127.0.0.1", info.text);
    CHECK(info.port == junk.local_port());
  }
  SUBCASE("untrusted peer: the headers are ignored") {
    WsdServer server({probe_config("trusted_proxies: [\"10.0.0.0/8\"]\n")});
    REQUIRE_MESSAGE(server.started(), server.log());
    WsClient c;
    REQUIRE(c.connect(server.port()));
    REQUIRE(c.handshake("/", {"X-Forwarded-For: 198.51.100.9", "X-Real-IP: 198.51.100.9"}).status == 101);
    ClientInfo info = client_info(c);
    REQUIRE_MESSAGE(info.ok, info.text);
    CHECK(info.ip == "127.0.0.1");
    CHECK(info.port == c.local_port());
  }
  SUBCASE("no trusted_proxies: the headers are ignored") {
    WsdServer server({probe_config()});
    REQUIRE_MESSAGE(server.started(), server.log());
    WsClient c;
    REQUIRE(c.connect(server.port()));
    REQUIRE(c.handshake("/", {"X-Real-IP: 198.51.100.9"}).status == 101);
    ClientInfo info = client_info(c);
    CHECK_MESSAGE(info.ip == "127.0.0.1", info.text);
  }
  SUBCASE("a listener's own trusted_proxies replaces the top level's") {
    WsdServer server({probe_config(std::string(kTrustLocal) +
                                   "listeners:\n  - host: 127.0.0.1\n    port: 0\n    trusted_proxies: []\n")});
    REQUIRE_MESSAGE(server.started(), server.log());
    REQUIRE(server.ports().size() == 2);
    WsClient a;
    REQUIRE(a.connect(server.ports()[0]));
    REQUIRE(a.handshake("/", {"X-Forwarded-For: 198.51.100.9"}).status == 101);
    CHECK(client_info(a).ip == "198.51.100.9");
    WsClient b;
    REQUIRE(b.connect(server.ports()[1]));
    REQUIRE(b.handshake("/", {"X-Forwarded-For: 198.51.100.9"}).status == 101);
    CHECK(client_info(b).ip == "127.0.0.1");
  }
}
