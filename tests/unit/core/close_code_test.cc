// Tests of core/close_code.cc: which codes are valid where, and close
// payload parsing (RFC 6455 §5.5.1, §7.4).
#include "core/close_code.h"

#include <doctest/doctest.h>

#include <string>

using wsd::core::ClosePayloadError;
using wsd::core::is_valid_application_close_code;
using wsd::core::is_valid_wire_close_code;
using wsd::core::parse_close_payload;
using wsd::core::ParsedClose;

TEST_CASE("is_valid_wire_close_code") {
  const struct {
    uint16_t code;
    bool valid;
  } kCodes[] = {
      {0, false},     {999, false},   {1000, true},   {1001, true},  {1002, true},
      {1003, true},   {1004, false},  {1005, false},  {1006, false}, {1007, true},
      {1008, true},   {1009, true},   {1010, true},   {1011, true},  {1012, true},
      {1013, true},   {1014, true},   {1015, false},  {1016, false}, {1100, false},
      {2000, false},  {2999, false},  {3000, true},   {3999, true},  {4000, true},
      {4999, true},   {5000, false},  {65535, false},
  };
  for (const auto& c : kCodes) {
    CAPTURE(c.code);
    CHECK(is_valid_wire_close_code(c.code) == c.valid);
  }
}

TEST_CASE("is_valid_application_close_code: 1000 or 4000-4999") {
  const struct {
    uint16_t code;
    bool valid;
  } kCodes[] = {
      {0, false},    {999, false},  {1000, true},  {1001, false}, {1002, false}, {1011, false},
      {3000, false}, {3999, false}, {4000, true},  {4500, true},  {4999, true},  {5000, false},
  };
  for (const auto& c : kCodes) {
    CAPTURE(c.code);
    CHECK(is_valid_application_close_code(c.code) == c.valid);
  }
}

TEST_CASE("parse_close_payload") {
  const struct {
    const char* name;
    std::string payload;
    ClosePayloadError error;
    uint16_t code;
    std::string reason;
  } kCases[] = {
      {"empty: 1005, no error", "", ClosePayloadError::None, 1005, ""},
      {"one byte", "\x03", ClosePayloadError::OneByte, 1005, ""},
      {"code only", "\x03\xe8", ClosePayloadError::None, 1000, ""},
      {"code and reason", "\x03\xe9" "bye", ClosePayloadError::None, 1001, "bye"},
      {"UTF-8 reason", "\x0f\xa0" "\xce\xba\xe1\xbd\xb9", ClosePayloadError::None, 4000,
       "\xce\xba\xe1\xbd\xb9"},
      {"1005 on the wire", "\x03\xed", ClosePayloadError::BadCode, 1005, ""},
      {"999", "\x03\xe7", ClosePayloadError::BadCode, 999, ""},
      {"5000", "\x13\x88", ClosePayloadError::BadCode, 5000, ""},
      {"0", std::string("\x00\x00", 2), ClosePayloadError::BadCode, 0, ""},
      {"bad UTF-8 reason", "\x03\xe8\xff", ClosePayloadError::BadUtf8, 1000, "\xff"},
      {"truncated UTF-8 reason", "\x03\xe8\xce", ClosePayloadError::BadUtf8, 1000, "\xce"},
  };
  for (const auto& c : kCases) {
    CAPTURE(c.name);
    const ParsedClose p =
        parse_close_payload(reinterpret_cast<const uint8_t*>(c.payload.data()), c.payload.size());
    CHECK(p.error == c.error);
    CHECK(p.code == c.code);
    CHECK(p.reason == c.reason);
  }
}
