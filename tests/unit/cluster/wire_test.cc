#include "cluster/wire.h"

#include <doctest/doctest.h>

#include <random>
#include <string>

using namespace wsd::cluster;

namespace {

WireMessage sample_publish() {
  WireMessage m;
  m.type = WireType::Publish;
  m.origin = 4095;
  m.aux = 1 | (0x80 << 8);
  m.topic = "room:42";
  m.data = std::string_view("hello\0world", 11);
  return m;
}

}  // namespace

TEST_CASE("wire: every type round-trips") {
  for (int t = 1; t <= 6; ++t) {
    WireMessage m;
    m.type = static_cast<WireType>(t);
    m.origin = 7;
    bool about_conn = m.type != WireType::Publish && m.type != WireType::Broadcast;
    m.conn = about_conn ? (uint64_t{7} << 52) | (uint64_t{123} << 24) | 5 : 0;
    m.aux = 1000;
    m.query = 0xA1B2C3D4u;
    if (m.type == WireType::Publish) m.topic = "t";
    if (m.type != WireType::Query && m.type != WireType::Reply) m.data = "payload";
    std::string bytes = encode(m);
    WireMessage d;
    REQUIRE(decode(bytes, d));
    CHECK(d.type == m.type);
    CHECK(d.origin == 7);
    CHECK(d.conn == m.conn);
    CHECK(d.aux == 1000);
    CHECK(d.query == 0xA1B2C3D4u);
    CHECK(d.topic == m.topic);
    CHECK(d.data == m.data);
  }
}

TEST_CASE("wire: binary data and a 255-byte topic survive") {
  WireMessage m = sample_publish();
  std::string topic(255, 'x');
  m.topic = topic;
  std::string data(70000, '\0');
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>(i * 31);
  m.data = data;
  std::string bytes = encode(m);
  CHECK(bytes.size() == kWireHeaderSize + 255 + 70000);
  WireMessage d;
  REQUIRE(decode(bytes, d));
  CHECK(d.topic == topic);
  CHECK(d.data == data);
}

TEST_CASE("wire: every truncation and any trailing byte is refused") {
  std::string bytes = encode(sample_publish());
  WireMessage d;
  for (size_t n = 0; n < bytes.size(); ++n) CHECK_FALSE(decode(std::string_view(bytes).substr(0, n), d));
  CHECK_FALSE(decode(bytes + "x", d));
  CHECK(decode(bytes, d));
}

TEST_CASE("wire: foreign or inconsistent headers are refused") {
  WireMessage d;
  std::string good = encode(sample_publish());
  SUBCASE("another magic (version)") {
    std::string b = good;
    b[3] = '2';
    CHECK_FALSE(decode(b, d));
  }
  SUBCASE("unknown type") {
    for (int t : {0, 7, 255}) {
      std::string b = good;
      b[4] = static_cast<char>(t);
      CHECK_FALSE(decode(b, d));
    }
  }
  SUBCASE("origin 0 or above 4095") {
    std::string b = good;
    b[5] = 0;
    b[6] = 0;
    CHECK_FALSE(decode(b, d));
    b[5] = 0;
    b[6] = 0x10;   // 4096
    CHECK_FALSE(decode(b, d));
  }
  SUBCASE("a publish without a topic, a push with one") {
    WireMessage m = sample_publish();
    m.topic = {};
    CHECK_FALSE(decode(encode(m), d));
    WireMessage p;
    p.type = WireType::Push;
    p.origin = 1;
    p.conn = 99;
    p.topic = "t";
    CHECK_FALSE(decode(encode(p), d));
  }
  SUBCASE("a push naming no connection, a broadcast naming one") {
    WireMessage p;
    p.type = WireType::Push;
    p.origin = 1;
    CHECK_FALSE(decode(encode(p), d));
    p.type = WireType::Broadcast;
    p.conn = 5;
    CHECK_FALSE(decode(encode(p), d));
  }
  SUBCASE("a data length past the end") {
    std::string b = good;
    b[22] = static_cast<char>(0xFF);
    CHECK_FALSE(decode(b, d));
  }
  SUBCASE("text that is not ours") {
    CHECK_FALSE(decode("hello", d));
    CHECK_FALSE(decode(std::string(64, 'w'), d));
  }
}

TEST_CASE("wire: random garbage never decodes wrongly (lengths stay inside)") {
  std::mt19937 rng(7);
  WireMessage d;
  std::string good = encode(sample_publish());
  for (int i = 0; i < 20000; ++i) {
    std::string b = good;
    // Flip a few bytes anywhere, sometimes cut.
    for (int k = 0; k < 3; ++k) b[rng() % b.size()] = static_cast<char>(rng());
    if (rng() % 4 == 0) b.resize(rng() % b.size());
    if (decode(b, d)) {
      CHECK(d.topic.data() >= b.data());
      CHECK(d.data.data() + d.data.size() == b.data() + b.size());
    }
  }
}
