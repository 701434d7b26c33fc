// Tests of config/units.cc: sizes and durations with units.
#include <doctest/doctest.h>

#include <string>

#include "config/loader.h"

using wsd::config::parse_duration;
using wsd::config::parse_size;

TEST_CASE("parse_size accepts bytes and binary multiples") {
  struct Case {
    const char* text;
    uint64_t bytes;
  };
  const Case cases[] = {
      {"0", 0},
      {"1024", 1024},
      {"64K", 64 * 1024},
      {"512k", 512 * 1024},
      {"2M", 2 * 1024 * 1024},
      {"2m", 2 * 1024 * 1024},
      {"1G", 1024ull * 1024 * 1024},
      {"1T", 1ull << 40},
      {"64KB", 64 * 1024},
      {"64KiB", 64 * 1024},
      {"10b", 10},
      {" 8K ", 8 * 1024},
      {"18446744073709551615", UINT64_MAX},
  };
  for (const Case& c : cases) {
    INFO(c.text);
    uint64_t out = 1;
    REQUIRE(parse_size(c.text, out));
    CHECK(out == c.bytes);
  }
}

TEST_CASE("parse_size refuses junk") {
  for (const char* text : {"", "K", "abc", "-1", "1.5M", "2X", "2 M", "2MM", "0x10", "16777216T",
                           "18446744073709551616"}) {
    INFO(text);
    uint64_t out = 7;
    CHECK_FALSE(parse_size(text, out));
    CHECK(out == 7);
  }
}

TEST_CASE("parse_duration accepts seconds and units") {
  struct Case {
    const char* text;
    double seconds;
  };
  const Case cases[] = {
      {"0", 0},      {"30", 30},     {"1.5", 1.5},   {"30s", 30},  {"500ms", 0.5},
      {"2m", 120},   {"2min", 120},  {"1h", 3600},   {"0.5h", 1800}, {"-1", -1},
      {" 10s ", 10}, {"1e1", 10},
  };
  for (const Case& c : cases) {
    INFO(c.text);
    double out = -99;
    REQUIRE(parse_duration(c.text, out));
    CHECK(out == doctest::Approx(c.seconds));
  }
}

TEST_CASE("parse_duration refuses junk") {
  for (const char* text : {"", "s", "abc", "10x", "10 s", "1d", "inf", "nan", "10S", "5M"}) {
    INFO(text);
    double out = 7;
    CHECK_FALSE(parse_duration(text, out));
    CHECK(out == 7);
  }
}
