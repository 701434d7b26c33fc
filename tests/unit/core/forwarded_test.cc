// Tests of core/forwarded.cc: address literals, trusted proxy ranges, and
// which client X-Forwarded-For / X-Real-IP name behind trusted proxies.
#include "core/forwarded.h"

#include <doctest/doctest.h>
#include <sys/socket.h>

#include <optional>
#include <string>
#include <utility>
#include <vector>

using wsd::core::forwarded_client;
using wsd::core::HttpRequest;
using wsd::core::IpAddress;
using wsd::core::parse_ip;
using wsd::core::TrustedProxies;

namespace {

IpAddress ip(const char* text) {
  const std::optional<IpAddress> a = parse_ip(text);
  REQUIRE(a.has_value());
  return *a;
}

TrustedProxies trusted_of(const std::vector<const char*>& list) {
  TrustedProxies t;
  for (const char* entry : list) {
    std::string error;
    REQUIRE_MESSAGE(t.add(entry, error), entry);
    CHECK(error.empty());
  }
  return t;
}

HttpRequest request_with(const std::vector<std::pair<std::string, std::string>>& headers) {
  HttpRequest r;
  r.method = "GET";
  r.target = r.path = "/";
  for (const auto& [name, value] : headers) r.headers.push_back({name, value});
  return r;
}

}  // namespace

TEST_CASE("forwarded: IP literals") {
  struct Case {
    const char* text;
    int family;          // 0: refused
    const char* canonical;
  };
  const Case cases[] = {
      {"192.0.2.1", AF_INET, "192.0.2.1"},
      {"0.0.0.0", AF_INET, "0.0.0.0"},
      {"255.255.255.255", AF_INET, "255.255.255.255"},
      {"::1", AF_INET6, "::1"},
      {"::", AF_INET6, "::"},
      {"2001:DB8:0:0::1", AF_INET6, "2001:db8::1"},
      {"::ffff:192.0.2.1", AF_INET6, "::ffff:192.0.2.1"},
      {"", 0, ""},
      {" 192.0.2.1", 0, ""},
      {"192.0.2.1 ", 0, ""},
      {"192.0.2.1:80", 0, ""},
      {"192.0.2", 0, ""},
      {"192.0.2.256", 0, ""},
      {"192.000.2.1", 0, ""},
      {"010.0.0.1", 0, ""},
      {"0x7f.0.0.1", 0, ""},
      {"3232235777", 0, ""},
      {"[::1]", 0, ""},
      {"[::1]:1234", 0, ""},
      {"fe80::1%eth0", 0, ""},
      {"::1::2", 0, ""},
      {"1:2:3:4:5:6:7:8:9", 0, ""},
      {"unknown", 0, ""},
      {"_hidden", 0, ""},
      {"example.com", 0, ""},
  };
  for (const Case& c : cases) {
    CAPTURE(c.text);
    const std::optional<IpAddress> a = parse_ip(c.text);
    CHECK(a.has_value() == (c.family != 0));
    if (!a) continue;
    CHECK(a->family == c.family);
    CHECK(a->text() == c.canonical);
  }
  CHECK_FALSE(parse_ip(std::string("1.2.3.4\0", 8)).has_value());
  CHECK_FALSE(parse_ip(std::string(100, '1')).has_value());
}

TEST_CASE("forwarded: trusted proxy entries") {
  const char* valid[] = {"10.0.0.0/8",     "127.0.0.1",      "127.0.0.1/32",
                         "0.0.0.0/0",      "192.168.2.0/23", "::1",
                         "::/0",           "fd00::/8",       "2001:db8::/32",
                         "2001:db8::1/128", "::ffff:10.0.0.0/104"};
  for (const char* entry : valid) {
    CAPTURE(entry);
    TrustedProxies t;
    std::string error;
    CHECK(t.add(entry, error));
    CHECK(error.empty());
    CHECK_FALSE(t.empty());
  }
  const char* invalid[] = {"",           "/8",          "10.0.0.0/",    "10.0.0.0/33",
                           "10.0.0.0/-1", "10.0.0.0/+8", "10.0.0.0/08",  "10.0.0.0/8/8",
                           "10.0.0.0/1000", "10.0.0.1/8", "192.168.3.0/23", "::/129",
                           "fd00::1/8",  "10.0.0.0 /8", " 10.0.0.0/8",  "10.0.0.0/8 ",
                           "10.0.0.0/ 8", "[::1]",      "[::1]/128",    "localhost",
                           "010.0.0.0/8", "10.0.0.0/8,11.0.0.0/8"};
  for (const char* entry : invalid) {
    CAPTURE(entry);
    TrustedProxies t;
    std::string error;
    CHECK_FALSE(t.add(entry, error));
    CHECK(error.find('"' + std::string(entry) + '"') != std::string::npos);
    CHECK(t.empty());
  }
}

TEST_CASE("forwarded: which addresses a trusted list contains") {
  const TrustedProxies t =
      trusted_of({"10.0.0.0/8", "192.168.2.0/23", "127.0.0.1", "2001:db8::/32", "fd00::1"});
  struct Case {
    const char* address;
    bool trusted;
  };
  const Case cases[] = {
      {"10.0.0.0", true},          {"10.255.255.255", true},    {"11.0.0.0", false},
      {"9.255.255.255", false},    {"192.168.2.0", true},       {"192.168.3.255", true},
      {"192.168.4.0", false},      {"192.168.1.255", false},    {"127.0.0.1", true},
      {"127.0.0.2", false},        {"::ffff:127.0.0.1", true},  {"::ffff:10.1.2.3", true},
      {"::ffff:11.0.0.0", false},  {"::127.0.0.1", false},      {"2001:db8:ffff::1", true},
      {"2001:db8::", true},        {"2001:db9::", false},       {"2001:db7:ffff::", false},
      {"fd00::1", true},           {"fd00::2", false},          {"::1", false},
      {"::", false},
  };
  for (const Case& c : cases) {
    CAPTURE(c.address);
    CHECK(t.contains(ip(c.address)) == c.trusted);
  }
  const uint8_t loopback[4] = {127, 0, 0, 1};
  CHECK(t.contains(AF_INET, loopback));
  CHECK_FALSE(t.contains(AF_UNIX, loopback));
  CHECK_FALSE(t.contains(IpAddress{}));
}

TEST_CASE("forwarded: catch-all and mapped rules") {
  const TrustedProxies none;
  CHECK(none.empty());
  CHECK_FALSE(none.contains(ip("127.0.0.1")));

  const TrustedProxies all4 = trusted_of({"0.0.0.0/0"});
  CHECK(all4.contains(ip("203.0.113.1")));
  CHECK(all4.contains(ip("::ffff:203.0.113.1")));
  CHECK_FALSE(all4.contains(ip("::1")));

  const TrustedProxies all = trusted_of({"::/0"});
  CHECK(all.contains(ip("203.0.113.1")));
  CHECK(all.contains(ip("2001:db8::1")));

  const TrustedProxies mapped = trusted_of({"::ffff:10.0.0.0/104"});
  CHECK(mapped.contains(ip("10.9.8.7")));
  CHECK_FALSE(mapped.contains(ip("11.0.0.1")));
}

TEST_CASE("forwarded: the client behind trusted proxies") {
  const TrustedProxies trusted = trusted_of({"10.0.0.0/8", "fd00::/8", "127.0.0.1"});
  using Headers = std::vector<std::pair<std::string, std::string>>;
  struct Case {
    const char* name;
    const char* peer;
    Headers headers;
    const char* client;  // nullptr: nullopt, use the peer
  };
  const char* xff = "X-Forwarded-For";
  const char* real = "X-Real-IP";
  const Case cases[] = {
      {"untrusted peer, XFF ignored", "203.0.113.50", {{xff, "198.51.100.1"}}, nullptr},
      {"untrusted peer, X-Real-IP ignored", "203.0.113.50", {{real, "198.51.100.1"}}, nullptr},
      {"untrusted mapped peer", "::ffff:203.0.113.50", {{xff, "198.51.100.1"}}, nullptr},
      {"trusted peer, no headers", "10.0.0.1", {}, nullptr},
      {"one hop", "10.0.0.1", {{xff, "203.0.113.7"}}, "203.0.113.7"},
      {"chain of trusted proxies", "10.0.0.1", {{xff, "203.0.113.7, 10.0.0.2, 10.0.0.3"}},
       "203.0.113.7"},
      {"spoofed entries left of the client", "10.0.0.1",
       {{xff, "1.1.1.1, 127.0.0.1, 203.0.113.7, 10.0.0.2"}}, "203.0.113.7"},
      {"every hop trusted: the leftmost", "10.0.0.1", {{xff, "10.0.0.5, 10.0.0.2"}}, "10.0.0.5"},
      {"no spaces", "10.0.0.1", {{xff, "203.0.113.7,10.0.0.2"}}, "203.0.113.7"},
      {"spaces and tabs", "10.0.0.1", {{xff, "203.0.113.7 ,\t 10.0.0.2"}}, "203.0.113.7"},
      {"repeated headers joined in order", "10.0.0.1",
       {{xff, "1.1.1.1"}, {"x-forwarded-for", "203.0.113.7, 10.0.0.2"}}, "203.0.113.7"},
      {"the last repetition is the nearest hop", "10.0.0.1",
       {{xff, "203.0.113.7"}, {xff, "198.51.100.1"}}, "198.51.100.1"},
      {"repetition of trusted hops", "10.0.0.1", {{xff, "203.0.113.7"}, {xff, "10.0.0.2"}},
       "203.0.113.7"},
      {"IPv6 client", "10.0.0.1", {{xff, "2001:db8::1, fd00::2"}}, "2001:db8::1"},
      {"IPv6 peer", "fd00::1", {{xff, "203.0.113.7"}}, "203.0.113.7"},
      {"IPv4-mapped peer matches IPv4 rules", "::ffff:10.0.0.1", {{xff, "203.0.113.7"}},
       "203.0.113.7"},
      {"IPv4-mapped hop is skipped", "127.0.0.1", {{xff, "203.0.113.7, ::ffff:10.0.0.2"}},
       "203.0.113.7"},
      {"canonical form returned", "10.0.0.1", {{xff, "2001:DB8:0::1"}}, "2001:db8::1"},
      {"garbage", "10.0.0.1", {{xff, "garbage"}}, nullptr},
      {"garbage between client and proxy", "10.0.0.1",
       {{xff, "203.0.113.7, garbage, 10.0.0.2"}}, nullptr},
      {"garbage left of the client is never read", "10.0.0.1", {{xff, "garbage, 203.0.113.7"}},
       "203.0.113.7"},
      {"unknown", "10.0.0.1", {{xff, "unknown, 10.0.0.2"}}, nullptr},
      {"bracketed IPv6 with port", "10.0.0.1", {{xff, "[2001:db8::1]:1234"}}, nullptr},
      {"bracketed IPv6", "10.0.0.1", {{xff, "[2001:db8::1]"}}, nullptr},
      {"IPv4 with port", "10.0.0.1", {{xff, "203.0.113.7:4711"}}, nullptr},
      {"heading zeroes", "10.0.0.1", {{xff, "203.0.113.007"}}, nullptr},
      {"empty entry", "10.0.0.1", {{xff, "203.0.113.7, , 10.0.0.2"}}, nullptr},
      {"empty rightmost entry", "10.0.0.1", {{xff, "203.0.113.7,"}}, nullptr},
      {"only a comma", "10.0.0.1", {{xff, ","}}, nullptr},
      {"X-Real-IP fallback", "10.0.0.1", {{real, "203.0.113.9"}}, "203.0.113.9"},
      {"X-Real-IP IPv6", "127.0.0.1", {{real, "2001:db8::5"}}, "2001:db8::5"},
      {"X-Real-IP garbage", "10.0.0.1", {{real, "garbage"}}, nullptr},
      {"X-Real-IP list", "10.0.0.1", {{real, "203.0.113.9, 10.0.0.2"}}, nullptr},
      {"X-Real-IP twice", "10.0.0.1", {{real, "203.0.113.9"}, {real, "198.51.100.1"}}, nullptr},
      {"XFF wins over X-Real-IP", "10.0.0.1", {{real, "198.51.100.2"}, {xff, "203.0.113.7"}},
       "203.0.113.7"},
      {"bad XFF does not fall back to X-Real-IP", "10.0.0.1",
       {{xff, "garbage"}, {real, "198.51.100.2"}}, nullptr},
      {"empty XFF counts as absent", "10.0.0.1", {{xff, ""}, {real, "198.51.100.2"}},
       "198.51.100.2"},
  };
  for (const Case& c : cases) {
    INFO(c.name);
    const std::optional<std::string> got =
        forwarded_client(ip(c.peer), request_with(c.headers), trusted);
    REQUIRE(got.has_value() == (c.client != nullptr));
    if (got) CHECK(*got == c.client);
  }
}

TEST_CASE("forwarded: nobody trusted, nothing believed") {
  const TrustedProxies none;
  const HttpRequest r =
      request_with({{"X-Forwarded-For", "203.0.113.7"}, {"X-Real-IP", "1.2.3.4"}});
  CHECK_FALSE(forwarded_client(ip("127.0.0.1"), r, none).has_value());
}
