// Tests of core/sha1.cc: the FIPS 180 examples, and agreement with OpenSSL
// for every length across the block and padding boundaries.
#include "core/sha1.h"

#include <doctest/doctest.h>
#include <openssl/evp.h>

#include <random>
#include <string>

namespace {

std::string hex(const wsd::core::Sha1Digest& d) {
  static const char* digits = "0123456789abcdef";
  std::string s;
  for (uint8_t b : d) {
    s += digits[b >> 4];
    s += digits[b & 15];
  }
  return s;
}

// OpenSSL as the reference for the cross-check below (tests only).
wsd::core::Sha1Digest reference(const std::string& s) {
  wsd::core::Sha1Digest d{};
  unsigned int n = 0;
  EVP_Digest(s.data(), s.size(), d.data(), &n, EVP_sha1(), nullptr);
  return d;
}

}  // namespace

TEST_CASE("sha1: FIPS 180 examples") {
  using wsd::core::sha1;
  CHECK(hex(sha1("")) == "da39a3ee5e6b4b0d3255bfef95601890afd80709");
  CHECK(hex(sha1("abc")) == "a9993e364706816aba3e25717850c26c9cd0d89d");
  CHECK(hex(sha1("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")) ==
        "84983e441c3bd26ebaae4aa1f95129e5e54670f1");
  CHECK(hex(sha1(std::string(1000000, 'a'))) == "34aa973cd4c4daa4f61eeb2bdbad27316534016f");
}

TEST_CASE("sha1: every length around the block and padding edges, split anywhere, matches OpenSSL") {
  std::mt19937 rng(7);
  for (size_t len = 0; len <= 200; ++len) {
    std::string s(len, '\0');
    for (char& c : s) c = static_cast<char>(rng());
    const wsd::core::Sha1Digest want = reference(s);
    for (size_t cut = 0; cut <= len; cut += (len < 70 ? 1 : 17)) {
      INFO("len " << len << " cut " << cut);
      CHECK(wsd::core::sha1(std::string_view(s).substr(0, cut), std::string_view(s).substr(cut)) == want);
    }
  }
}
