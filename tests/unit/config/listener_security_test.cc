// Tests of the listener options beyond host/port: TLS protocols, ciphers,
// client certificates, the PROXY protocol and trusted_proxies (with its
// inheritance from the top level), and the admin port.
#include <doctest/doctest.h>

#include "tests/unit/config/helpers.h"

using namespace wsd::config;
using wsd::config::testing::load;
using wsd::config::testing::only_error;
using wsd::config::testing::TempDir;

using Strings = std::vector<std::string>;

namespace {

// A folder with the TLS files the cases name (contents do not matter here).
struct TlsDir : TempDir {
  TlsDir() {
    write("cert.pem");
    write("key.pem");
    write("ca.pem");
  }
  LoadResult load(const std::string& yaml, const std::vector<std::string>& overrides = {}) const {
    return wsd::config::testing::load(yaml, overrides, path());
  }
};

const char* const kTls = "ssl_cert_file: cert.pem\nssl_key_file: key.pem\n";

}  // namespace

TEST_CASE("listener options: defaults, on the first listener and the others") {
  LoadResult r = load("listeners:\n  - port: 9601\n");
  REQUIRE(r.ok);
  REQUIRE(r.config.listeners.size() == 2);
  for (const Listener& l : r.config.listeners) {
    CHECK(l.ssl_protocols == Strings{"TLSv1.2", "TLSv1.3"});
    CHECK(l.ssl_ciphers.empty());
    CHECK_FALSE(l.ssl_verify_peer);
    CHECK(l.ssl_client_cert_file.empty());
    CHECK_FALSE(l.proxy_protocol);
    CHECK(l.trusted_proxies.empty());
  }
  CHECK(r.config.trusted_proxies.empty());
  CHECK(Listener().ssl_protocols == Strings{"TLSv1.2", "TLSv1.3"});
}

TEST_CASE("listener options: every one is read, at the top level and in listeners") {
  TlsDir dir;
  LoadResult r = dir.load(std::string(kTls) +
                          "ssl_protocols: [TLSv1.3]\n"
                          "ssl_ciphers: 'HIGH:!aNULL'\n"
                          "ssl_verify_peer: true\n"
                          "ssl_client_cert_file: ca.pem\n"
                          "proxy_protocol: true\n"
                          "trusted_proxies: [10.0.0.0/8, '::1']\n"
                          "listeners:\n"
                          "  - port: 9443\n"
                          "    ssl_cert_file: cert.pem\n"
                          "    ssl_key_file: key.pem\n"
                          "    ssl_protocols: tlsv1.2\n"
                          "    ssl_ciphers: ECDHE+AESGCM\n"
                          "    ssl_verify_peer: false\n"
                          "    proxy_protocol: true\n"
                          "    trusted_proxies: 127.0.0.1\n");
  for (const std::string& e : r.errors) MESSAGE(e);
  REQUIRE(r.ok);
  REQUIRE(r.config.listeners.size() == 2);
  const Listener& a = r.config.listeners[0];
  CHECK(a.line == 1);
  CHECK(a.ssl_protocols == Strings{"TLSv1.3"});
  CHECK(a.ssl_ciphers == "HIGH:!aNULL");
  CHECK(a.ssl_verify_peer);
  CHECK(a.ssl_client_cert_file == dir.path() + "/ca.pem");
  CHECK(a.proxy_protocol);
  CHECK(a.trusted_proxies == Strings{"10.0.0.0/8", "::1"});
  CHECK(r.config.trusted_proxies == Strings{"10.0.0.0/8", "::1"});
  const Listener& b = r.config.listeners[1];
  CHECK(b.ssl_protocols == Strings{"TLSv1.2"});  // any case, stored as OpenSSL spells it
  CHECK(b.ssl_ciphers == "ECDHE+AESGCM");
  CHECK_FALSE(b.ssl_verify_peer);
  CHECK(b.proxy_protocol);
  CHECK(b.trusted_proxies == Strings{"127.0.0.1"});  // its own list, not the top level's
}

TEST_CASE("ssl_protocols: a string is a list of one; repeats are dropped") {
  CHECK(load("ssl_protocols: TLSv1.3").config.listeners[0].ssl_protocols == Strings{"TLSv1.3"});
  CHECK(load("ssl_protocols: [TLSv1.3, TLSv1.2]").config.listeners[0].ssl_protocols ==
        Strings{"TLSv1.3", "TLSv1.2"});
  CHECK(load("ssl_protocols: [TLSv1.2, tlsv1.2]").config.listeners[0].ssl_protocols == Strings{"TLSv1.2"});
}

TEST_CASE("ssl_protocols: errors name the allowed versions") {
  struct Case {
    std::string yaml;
    std::string error;
  };
  const Case cases[] = {
      {"ssl_protocols: TLSv1.1", "test.yaml:1: ssl_protocols: 'TLSv1.1' is not allowed (allowed: TLSv1.2, TLSv1.3)"},
      {"# x\nssl_protocols:\n  - TLSv1.2\n  - SSLv3\n",
       "test.yaml:4: ssl_protocols[1]: 'SSLv3' is not allowed (allowed: TLSv1.2, TLSv1.3)"},
      {"ssl_protocols: TLSv1.2 TLSv1.3",
       "test.yaml:1: ssl_protocols: 'TLSv1.2 TLSv1.3' is not allowed (allowed: TLSv1.2, TLSv1.3; several are "
       "written as a list: [TLSv1.2, TLSv1.3])"},
      {"ssl_protocols: []", "test.yaml:1: ssl_protocols: must name at least one of TLSv1.2, TLSv1.3"},
      {"ssl_protocols:", "test.yaml:1: ssl_protocols: must name at least one of TLSv1.2, TLSv1.3"},
      {"ssl_protocols: {a: b}", "test.yaml:1: ssl_protocols: expected a list of strings, got a map"},
      {"listeners:\n  - port: 1\n    ssl_protocols: [TLSv1.0]\n",
       "test.yaml:3: listeners[0].ssl_protocols[0]: 'TLSv1.0' is not allowed (allowed: TLSv1.2, TLSv1.3)"},
      {"ssl_protocol: TLSv1.3",
       "test.yaml:1: ssl_protocol: unknown option 'ssl_protocol' (did you mean 'ssl_protocols'?)"},
  };
  for (const Case& c : cases) {
    INFO(c.yaml);
    CHECK(only_error(load(c.yaml)) == c.error);
  }
}

TEST_CASE("ssl_ciphers: a list OpenSSL selects nothing from is refused") {
  CHECK(load("ssl_ciphers: ''").ok);
  CHECK(load("ssl_ciphers: DEFAULT").ok);
  CHECK(load("ssl_ciphers: 'ECDHE-RSA-AES128-GCM-SHA256:NOT-A-CIPHER'").ok);  // unknown names are skipped
  CHECK(only_error(load("\nssl_ciphers: NOT-A-CIPHER")) ==
        "test.yaml:2: ssl_ciphers: OpenSSL selects no cipher from 'NOT-A-CIPHER' (try: openssl ciphers -v "
        "'NOT-A-CIPHER')");
  CHECK(only_error(load("ssl_ciphers: [a]")) == "test.yaml:1: ssl_ciphers: expected a string, got a list");
}

TEST_CASE("ssl_verify_peer needs TLS and a CA file that exists") {
  TlsDir dir;
  struct Case {
    std::string yaml;
    std::string error;
  };
  const Case cases[] = {
      {std::string(kTls) + "ssl_verify_peer: true\n",
       "test.yaml:3: ssl_client_cert_file: required when ssl_verify_peer is true (the CA certificates client "
       "certificates must be signed by)"},
      {std::string(kTls) + "ssl_verify_peer: true\nssl_client_cert_file: ''\n",
       "test.yaml:3: ssl_client_cert_file: required when ssl_verify_peer is true (the CA certificates client "
       "certificates must be signed by)"},
      {"listeners:\n  - port: 1\n    ssl_cert_file: cert.pem\n    ssl_key_file: key.pem\n"
       "    ssl_verify_peer: true\n",
       "test.yaml:5: listeners[0].ssl_client_cert_file: required when ssl_verify_peer is true (the CA "
       "certificates client certificates must be signed by)"},
      // A missing CA file is one error, not also "required".
      {std::string(kTls) + "ssl_verify_peer: true\nssl_client_cert_file: nope.pem\n",
       "test.yaml:4: ssl_client_cert_file: no such file: " + dir.path() + "/nope.pem"},
      {"ssl_verify_peer: true\nssl_client_cert_file: ca.pem\n",
       "test.yaml:1: ssl_verify_peer: needs TLS on this listener (ssl_cert_file and ssl_key_file)"},
      {"listeners:\n  - port: 1\n    ssl_verify_peer: true\n",
       "test.yaml:3: listeners[0].ssl_verify_peer: needs TLS on this listener (ssl_cert_file and ssl_key_file)"},
      {"ssl_verify_peer: yes\n", "test.yaml:1: ssl_verify_peer: expected true or false, got 'yes'"},
  };
  for (const Case& c : cases) {
    INFO(c.yaml);
    CHECK(only_error(dir.load(c.yaml)) == c.error);
  }
  // A CA file without ssl_verify_peer is accepted (and unused).
  LoadResult r = dir.load(std::string(kTls) + "ssl_client_cert_file: ca.pem\n");
  REQUIRE(r.ok);
  CHECK(r.config.listeners[0].ssl_client_cert_file == dir.path() + "/ca.pem");
  CHECK_FALSE(r.config.listeners[0].ssl_verify_peer);
}

TEST_CASE("trusted_proxies: listeners inherit the top level's unless they set their own") {
  LoadResult r = load(
      "trusted_proxies: [10.0.0.0/8, 'fd00::/8']\n"
      "listeners:\n"
      "  - port: 1\n"
      "  - port: 2\n"
      "    trusted_proxies: [192.168.1.1]\n"
      "  - port: 3\n"
      "    trusted_proxies: []\n");
  REQUIRE(r.ok);
  const auto& ls = r.config.listeners;
  REQUIRE(ls.size() == 4);
  CHECK(r.config.trusted_proxies == Strings{"10.0.0.0/8", "fd00::/8"});
  CHECK(ls[0].trusted_proxies == Strings{"10.0.0.0/8", "fd00::/8"});
  CHECK(ls[1].trusted_proxies == Strings{"10.0.0.0/8", "fd00::/8"});
  CHECK(ls[2].trusted_proxies == Strings{"192.168.1.1"});
  CHECK(ls[3].trusted_proxies.empty());

  r = load("trusted_proxies: 127.0.0.1\nlisteners:\n  - port: 1\n");
  REQUIRE(r.ok);
  CHECK(r.config.listeners[1].trusted_proxies == Strings{"127.0.0.1"});

  // Through --set too.
  r = load("listeners:\n  - port: 1\n", {"trusted_proxies=[::1]", "listeners.0.trusted_proxies=10.1.0.0/16"});
  REQUIRE(r.ok);
  CHECK(r.config.listeners[0].trusted_proxies == Strings{"::1"});
  CHECK(r.config.listeners[1].trusted_proxies == Strings{"10.1.0.0/16"});
}

TEST_CASE("trusted_proxies: each entry is an address or a CIDR range") {
  struct Case {
    std::string yaml;
    std::string error;
  };
  const Case cases[] = {
      {"trusted_proxies:\n  - 10.0.0.0/8\n  - 10.0.0.1/8\n",
       "test.yaml:3: trusted_proxies[1]: address bits set past the prefix length (got '10.0.0.1/8')"},
      {"trusted_proxies: proxy.example",
       "test.yaml:1: trusted_proxies: not an IPv4 or IPv6 address (got 'proxy.example')"},
      {"trusted_proxies: ['127.0.0.1:80']",
       "test.yaml:1: trusted_proxies[0]: not an IPv4 or IPv6 address (got '127.0.0.1:80')"},
      {"trusted_proxies: ['::1/129']", "test.yaml:1: trusted_proxies[0]: prefix length must be 0 to 128 (got '::1/129')"},
      {"trusted_proxies: [10.0.0.0/33]",
       "test.yaml:1: trusted_proxies[0]: prefix length must be 0 to 32 (got '10.0.0.0/33')"},
      {"trusted_proxies: {a: b}", "test.yaml:1: trusted_proxies: expected a list of strings, got a map"},
      {"listeners:\n  - port: 1\n    trusted_proxies: [010.0.0.1]\n",
       "test.yaml:3: listeners[0].trusted_proxies[0]: not an IPv4 or IPv6 address (got '010.0.0.1')"},
      {"trusted_proxy: [::1]",
       "test.yaml:1: trusted_proxy: unknown option 'trusted_proxy' (did you mean 'trusted_proxies'?)"},
  };
  for (const Case& c : cases) {
    INFO(c.yaml);
    CHECK(only_error(load(c.yaml)) == c.error);
  }
}

TEST_CASE("proxy_protocol needs trusted_proxies") {
  struct Case {
    std::string yaml;
    std::string error;
  };
  const Case cases[] = {
      {"port: 1\nproxy_protocol: true\n",
       "test.yaml:2: proxy_protocol: needs a non-empty trusted_proxies: a PROXY header is only accepted from them"},
      {"listeners:\n  - port: 1\n    proxy_protocol: true\n",
       "test.yaml:3: listeners[0].proxy_protocol: needs a non-empty trusted_proxies: a PROXY header is only "
       "accepted from them"},
      // Its own empty list replaces the inherited one.
      {"trusted_proxies: [::1]\nlisteners:\n  - port: 1\n    proxy_protocol: true\n    trusted_proxies: []\n",
       "test.yaml:4: listeners[0].proxy_protocol: needs a non-empty trusted_proxies: a PROXY header is only "
       "accepted from them"},
      // A bad top-level list is reported once, not again for each listener using it.
      {"trusted_proxies: [bad]\nproxy_protocol: true\nlisteners:\n  - port: 1\n    proxy_protocol: true\n",
       "test.yaml:1: trusted_proxies[0]: not an IPv4 or IPv6 address (got 'bad')"},
      {"proxy_protocol: 1", "test.yaml:1: proxy_protocol: expected true or false, got '1'"},
  };
  for (const Case& c : cases) {
    INFO(c.yaml);
    CHECK(only_error(load(c.yaml)) == c.error);
  }
  CHECK(only_error(load("listeners:\n  - port: 1\n", {"listeners.0.proxy_protocol=true"})) ==
        "--set listeners.0.proxy_protocol: needs a non-empty trusted_proxies: a PROXY header is only accepted "
        "from them");

  // Inherited, or its own.
  LoadResult r = load(
      "trusted_proxies: [10.0.0.0/8]\n"
      "proxy_protocol: true\n"
      "listeners:\n"
      "  - port: 1\n"
      "    proxy_protocol: true\n"
      "  - port: 2\n"
      "    proxy_protocol: true\n"
      "    trusted_proxies: [::1]\n");
  for (const std::string& e : r.errors) MESSAGE(e);
  REQUIRE(r.ok);
  for (const Listener& l : r.config.listeners) CHECK(l.proxy_protocol);
}

TEST_CASE("top-level listener keys are the first listener's, not defaults for the others") {
  LoadResult r = load(
      "trusted_proxies: [::1]\n"
      "proxy_protocol: true\n"
      "ssl_protocols: TLSv1.3\n"
      "ssl_ciphers: HIGH\n"
      "listeners:\n"
      "  - port: 1\n");
  REQUIRE(r.ok);
  const Listener& other = r.config.listeners[1];
  CHECK_FALSE(other.proxy_protocol);
  CHECK(other.ssl_protocols == Strings{"TLSv1.2", "TLSv1.3"});
  CHECK(other.ssl_ciphers.empty());
  CHECK(other.trusted_proxies == Strings{"::1"});  // the one inherited key
}

TEST_CASE("admin_host / admin_port") {
  LoadResult r = load("");
  REQUIRE(r.ok);
  CHECK(r.config.admin_host == "127.0.0.1");
  CHECK(r.config.admin_port == -1);

  r = load("admin_host: 0.0.0.0\nadmin_port: 9502\n");
  REQUIRE(r.ok);
  CHECK(r.config.admin_host == "0.0.0.0");
  CHECK(r.config.admin_port == 9502);
  for (const char* yaml : {"admin_port: -1", "admin_port: 0", "admin_port: 65535", "port: 0\nadmin_port: 0",
                           "admin_port: 9501\nadmin_host: ::1"}) {
    INFO(yaml);
    CHECK(load(yaml).ok);
  }

  struct Case {
    std::string yaml;
    std::string error;
  };
  const Case cases[] = {
      {"admin_port: -2", "test.yaml:1: admin_port: must be between -1 and 65535 (got -2)"},
      {"admin_port: 65536", "test.yaml:1: admin_port: must be between -1 and 65535 (got 65536)"},
      {"admin_port: metrics", "test.yaml:1: admin_port: expected an integer, got 'metrics'"},
      {"admin_host: ''", "test.yaml:1: admin_host: must not be empty"},
      {"\nadmin_port: 9501", "test.yaml:2: admin_port: 127.0.0.1:9501 is already used by the top-level host/port"},
      {"listeners:\n  - port: 9600\nadmin_port: 9600",
       "test.yaml:3: admin_port: 127.0.0.1:9600 is already used by listeners[0]"},
      {"admin_prot: 1", "test.yaml:1: admin_prot: unknown option 'admin_prot' (did you mean 'admin_port'?)"},
  };
  for (const Case& c : cases) {
    INFO(c.yaml);
    CHECK(only_error(load(c.yaml)) == c.error);
  }
}
