#include "core/close_code.h"

#include "core/constants.h"
#include "core/utf8.h"

namespace wsd::core {

bool is_valid_wire_close_code(uint16_t code) {
  if (code >= 1000 && code <= 1003) return true;
  if (code >= 1007 && code <= 1014) return true;  // 1012-1014: registered with IANA
  return code >= 3000 && code <= 4999;             // libraries (3xxx), private use (4xxx)
}

bool is_valid_application_close_code(uint16_t code) {
  return code == close_code::kNormal || (code >= 4000 && code <= 4999);
}

ParsedClose parse_close_payload(const uint8_t* data, size_t len) {
  ParsedClose parsed;
  if (len == 0) return parsed;  // no status code: 1005, not an error
  if (len == 1) {
    parsed.error = ClosePayloadError::OneByte;
    return parsed;
  }
  parsed.code = static_cast<uint16_t>(data[0] << 8 | data[1]);
  parsed.reason = std::string_view(reinterpret_cast<const char*>(data + 2), len - 2);
  if (!is_valid_wire_close_code(parsed.code)) {
    parsed.error = ClosePayloadError::BadCode;
  } else if (!is_valid_utf8(data + 2, len - 2)) {
    parsed.error = ClosePayloadError::BadUtf8;
  }
  return parsed;
}

}  // namespace wsd::core
