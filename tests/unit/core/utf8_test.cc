// Tests of core/utf8.cc: the classic valid and invalid sequences, checked
// whole, in every two-piece split and a byte at a time; fail-fast; and an
// exhaustive comparison with a decoder written the obvious way.
#include "core/utf8.h"

#include <doctest/doctest.h>

#include <string>
#include <vector>

using wsd::core::is_valid_utf8;
using wsd::core::Utf8Validator;

namespace {

const uint8_t* u8(const std::string& s) { return reinterpret_cast<const uint8_t*>(s.data()); }

struct Case {
  const char* name;
  std::string bytes;
  bool valid;
};

const Case kCases[] = {
    {"empty", "", true},
    {"ASCII", "Hello, world", true},
    {"NUL and DEL", std::string("\x00\x7f", 2), true},
    {"2-byte min U+0080", "\xc2\x80", true},
    {"2-byte max U+07FF", "\xdf\xbf", true},
    {"3-byte min U+0800", "\xe0\xa0\x80", true},
    {"last before surrogates U+D7FF", "\xed\x9f\xbf", true},
    {"first after surrogates U+E000", "\xee\x80\x80", true},
    {"3-byte max U+FFFF", "\xef\xbf\xbf", true},
    {"4-byte min U+10000", "\xf0\x90\x80\x80", true},
    {"4-byte U+1F600", "\xf0\x9f\x98\x80", true},
    {"4-byte max U+10FFFF", "\xf4\x8f\xbf\xbf", true},
    {"kosme (Kuhn)", "\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5", true},
    {"overlong C0 80", "\xc0\x80", false},
    {"overlong C1 BF", "\xc1\xbf", false},
    {"overlong E0 80 80", "\xe0\x80\x80", false},
    {"overlong E0 9F BF", "\xe0\x9f\xbf", false},
    {"overlong F0 80 80 80", "\xf0\x80\x80\x80", false},
    {"overlong F0 8F BF BF", "\xf0\x8f\xbf\xbf", false},
    {"surrogate U+D800", "\xed\xa0\x80", false},
    {"surrogate U+DBFF", "\xed\xaf\xbf", false},
    {"surrogate U+DC00", "\xed\xb0\x80", false},
    {"surrogate U+DFFF", "\xed\xbf\xbf", false},
    {"surrogate pair in CESU-8", "\xed\xa0\xbd\xed\xb8\x80", false},
    {"U+110000 (F4 90)", "\xf4\x90\x80\x80", false},
    {"F5 lead", "\xf5\x80\x80\x80", false},
    {"F8 lead", "\xf8\x88\x80\x80\x80", false},
    {"FE", "\xfe", false},
    {"FF", "\xff", false},
    {"stray continuation 80", "a\x80", false},
    {"stray continuation BF", "\xbf", false},
    {"continuation missing: C2 41", "\xc2\x41", false},
    {"continuation missing: E1 80 41", "\xe1\x80\x41", false},
    {"continuation missing: F1 80 80 41", "\xf1\x80\x80\x41", false},
    {"truncated 2-byte at end", "ab\xc2", false},
    {"truncated 3-byte at end", "ab\xe1\x80", false},
    {"truncated 4-byte at end", "ab\xf0\x90\x80", false},
    {"valid then invalid",
     "\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80"
     "edited",
     false},
};

// Feeds `s` cut at the given points; returns whether it all validated and
// ended on a boundary.
bool validate_pieces(const std::string& s, const std::vector<size_t>& cuts) {
  Utf8Validator v;
  size_t pos = 0;
  for (size_t cut : cuts) {
    v.feed(u8(s) + pos, cut - pos);
    pos = cut;
  }
  v.feed(u8(s) + pos, s.size() - pos);
  return !v.failed() && v.complete();
}

// The obvious decoder: length from the lead byte, then the code point's
// range. Independent of the state-machine design it checks.
bool reference_valid(const uint8_t* p, size_t n) {
  for (size_t i = 0; i < n;) {
    const uint8_t b = p[i];
    size_t len;
    uint32_t cp, min;
    if (b < 0x80) { ++i; continue; }
    if ((b & 0xE0) == 0xC0) { len = 2; cp = b & 0x1F; min = 0x80; }
    else if ((b & 0xF0) == 0xE0) { len = 3; cp = b & 0x0F; min = 0x800; }
    else if ((b & 0xF8) == 0xF0) { len = 4; cp = b & 0x07; min = 0x10000; }
    else return false;
    if (i + len > n) return false;
    for (size_t k = 1; k < len; ++k) {
      if ((p[i + k] & 0xC0) != 0x80) return false;
      cp = cp << 6 | (p[i + k] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    i += len;
  }
  return true;
}

}  // namespace

TEST_CASE("Utf8Validator: fits in 4 bytes") {
  static_assert(sizeof(Utf8Validator) <= 4);
  MESSAGE("sizeof(Utf8Validator) = " << sizeof(Utf8Validator));
}

TEST_CASE("Utf8Validator: classic cases, whole, in two pieces at every cut, byte by byte") {
  for (const Case& c : kCases) {
    CAPTURE(c.name);
    CHECK(is_valid_utf8(u8(c.bytes), c.bytes.size()) == c.valid);
    for (size_t cut = 0; cut <= c.bytes.size(); ++cut) {
      CHECK(validate_pieces(c.bytes, {cut}) == c.valid);
    }
    std::vector<size_t> every;
    for (size_t i = 1; i < c.bytes.size(); ++i) every.push_back(i);
    CHECK(validate_pieces(c.bytes, every) == c.valid);
    // Inside 16-byte ASCII runs: exercises the fast path on both sides.
    const std::string padded = std::string(21, 'x') + c.bytes + std::string(37, 'y');
    CHECK(is_valid_utf8(u8(padded), padded.size()) == c.valid);
  }
}

TEST_CASE("Utf8Validator: fails at the first byte that cannot continue, even mid-sequence") {
  const struct {
    const char* prefix;  // the piece whose last byte makes it invalid
  } kFailFast[] = {{"\xed\xa0"}, {"\xe0\x80"}, {"\xe0\x9f"}, {"\xf0\x80"}, {"\xf0\x8f"},
                   {"\xf4\x90"}, {"\xf5"},     {"\xc0"},     {"\xc1"},     {"\x80"},
                   {"\xc2\x41"}, {"\xe1\x80\xc0"}};
  for (const auto& f : kFailFast) {
    const std::string s = f.prefix;
    CAPTURE(s);
    Utf8Validator v;
    CHECK(v.feed(u8(s), s.size() - 1));  // fine so far
    CHECK_FALSE(v.feed(u8(s) + s.size() - 1, 1));
    CHECK(v.failed());
  }
}

TEST_CASE("Utf8Validator: pending sequence, sticky failure and reset") {
  Utf8Validator v;
  CHECK(v.feed(u8("\xf0\x9f"), 2));
  CHECK_FALSE(v.complete());
  CHECK(v.feed(u8("\x98"), 1));
  CHECK_FALSE(v.complete());
  CHECK(v.feed(u8("\x80"), 1));
  CHECK(v.complete());
  CHECK_FALSE(v.feed(u8("\xff"), 1));
  CHECK_FALSE(v.feed(u8("a"), 1));  // stays failed
  CHECK(v.failed());
  CHECK_FALSE(v.complete());
  v.reset();
  CHECK(v.feed(u8("a"), 1));
  CHECK(v.complete());
}

TEST_CASE("Utf8Validator: an invalid byte at every position of a long ASCII run") {
  for (size_t pos = 0; pos < 70; ++pos) {
    CAPTURE(pos);
    std::string s(70, 'a');
    CHECK(is_valid_utf8(u8(s), s.size()));
    s[pos] = '\x80';
    CHECK_FALSE(is_valid_utf8(u8(s), s.size()));
    s[pos] = '\xc3';  // a lead byte followed by 'a'
    CHECK_FALSE(is_valid_utf8(u8(s), s.size()));
    s.replace(pos, 1, "\xc3\xa9");  // é: valid
    CHECK(is_valid_utf8(u8(s), s.size()));
  }
}

TEST_CASE("Utf8Validator: agrees with a reference decoder (all 1-2 byte, most 3-4 byte inputs)") {
  uint8_t b[4];
  for (unsigned x = 0; x < 0x10000; ++x) {
    b[0] = static_cast<uint8_t>(x >> 8);
    b[1] = static_cast<uint8_t>(x);
    REQUIRE(is_valid_utf8(b, 2) == reference_valid(b, 2));
    REQUIRE(is_valid_utf8(b, 1) == reference_valid(b, 1));
  }
  // Every lead and second byte; a few third and fourth bytes around the
  // continuation range's edges.
  const uint8_t edges[] = {0x00, 0x41, 0x7f, 0x80, 0x8f, 0x90, 0x9f, 0xa0, 0xbf, 0xc0, 0xff};
  for (unsigned x = 0; x < 0x10000; ++x) {
    b[0] = static_cast<uint8_t>(x >> 8);
    b[1] = static_cast<uint8_t>(x);
    if (b[0] < 0xe0) continue;
    for (uint8_t c : edges) {
      b[2] = c;
      REQUIRE(is_valid_utf8(b, 3) == reference_valid(b, 3));
      for (uint8_t d : edges) {
        b[3] = d;
        REQUIRE(is_valid_utf8(b, 4) == reference_valid(b, 4));
      }
    }
  }
}
