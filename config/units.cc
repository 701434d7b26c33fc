// parse_size and parse_duration (declared in config/loader.h).
#include <charconv>
#include <cmath>
#include <cstdint>
#include <string>
#include <string_view>

#include "config/loader.h"

namespace wsd::config {

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i] >= 'A' && a[i] <= 'Z' ? static_cast<char>(a[i] + 32) : a[i];
    if (x != b[i]) return false;
  }
  return true;
}

struct Unit {
  std::string_view name;  // lower case; matched ignoring case
  uint64_t bytes;
};

// Binary multiples only: "1K" is always 1024 bytes.
constexpr Unit kSizeUnits[] = {
    {"", 1},           {"b", 1},
    {"k", 1ull << 10}, {"kb", 1ull << 10}, {"kib", 1ull << 10},
    {"m", 1ull << 20}, {"mb", 1ull << 20}, {"mib", 1ull << 20},
    {"g", 1ull << 30}, {"gb", 1ull << 30}, {"gib", 1ull << 30},
    {"t", 1ull << 40}, {"tb", 1ull << 40}, {"tib", 1ull << 40},
};

struct TimeUnit {
  std::string_view name;  // case-sensitive: "m" is minutes, "ms" milliseconds
  double seconds;
};

constexpr TimeUnit kTimeUnits[] = {
    {"", 1}, {"s", 1}, {"ms", 0.001}, {"m", 60}, {"min", 60}, {"h", 3600},
};

}  // namespace

bool parse_size(const std::string& text, uint64_t& out) {
  std::string_view s = trim(text);
  uint64_t n = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
  if (ec != std::errc() || end == s.data()) return false;
  std::string_view unit = s.substr(static_cast<size_t>(end - s.data()));
  for (const Unit& u : kSizeUnits) {
    if (!iequals(unit, u.name)) continue;
    if (n > UINT64_MAX / u.bytes) return false;
    out = n * u.bytes;
    return true;
  }
  return false;
}

bool parse_duration(const std::string& text, double& out) {
  std::string_view s = trim(text);
  double n = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), n, std::chars_format::general);
  if (ec != std::errc() || end == s.data() || !std::isfinite(n)) return false;
  std::string_view unit = s.substr(static_cast<size_t>(end - s.data()));
  for (const TimeUnit& u : kTimeUnits) {
    if (unit != u.name) continue;
    out = n * u.seconds;
    return true;
  }
  return false;
}

}  // namespace wsd::config
