#include "config/values.h"

#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdio>

#include "config/loader.h"
#include "config/suggest.h"

namespace wsd::config {

namespace {

void expected(Context& ctx, const YAML::Node& v, const std::string& key, const char* what) {
  ctx.error(v, key, std::string("expected ") + what + ", got " + describe(v));
}

// The scalar text of `v`, or false (after reporting "expected <what>").
bool scalar(Context& ctx, const YAML::Node& v, const std::string& key, const char* what, std::string& out) {
  if (!v.IsScalar()) {
    expected(ctx, v, key, what);
    return false;
  }
  out = v.Scalar();
  return true;
}

std::string number(double d) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%g", d);
  return buf;
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i]))) return false;
  }
  return true;
}

constexpr const char* kSizeHelp = "a size (bytes, or with a unit: 64K, 2M, 1G)";
constexpr const char* kDurationHelp = "a duration (seconds, or with a unit: 500ms, 30s, 2m, 1h)";

}  // namespace

bool read_int(Context& ctx, const YAML::Node& v, const std::string& key, int64_t lo, int64_t hi, int64_t& out) {
  std::string s;
  if (!scalar(ctx, v, key, "an integer", s)) return false;
  int64_t n = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
  if (ec != std::errc() || end != s.data() + s.size() || s.empty()) {
    expected(ctx, v, key, "an integer");
    return false;
  }
  if (n < lo || n > hi) {
    std::string range = hi == INT64_MAX ? "must be at least " + std::to_string(lo)
                                        : "must be between " + std::to_string(lo) + " and " + std::to_string(hi);
    ctx.error(v, key, range + " (got " + s + ")");
    return false;
  }
  out = n;
  return true;
}

bool read_bool(Context& ctx, const YAML::Node& v, const std::string& key, bool& out) {
  if (v.IsScalar() && (iequals(v.Scalar(), "true") || iequals(v.Scalar(), "false"))) {
    out = iequals(v.Scalar(), "true");
    return true;
  }
  expected(ctx, v, key, "true or false");
  return false;
}

bool read_string(Context& ctx, const YAML::Node& v, const std::string& key, std::string& out) {
  if (v.IsNull()) {
    out.clear();
    return true;
  }
  return scalar(ctx, v, key, "a string", out);
}

bool read_number(Context& ctx, const YAML::Node& v, const std::string& key, double min, double& out) {
  std::string s;
  if (!scalar(ctx, v, key, "a number", s)) return false;
  double d = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), d, std::chars_format::general);
  if (ec != std::errc() || end != s.data() + s.size() || s.empty() || !std::isfinite(d)) {
    expected(ctx, v, key, "a number");
    return false;
  }
  if (d < min) {
    ctx.error(v, key, "must be at least " + number(min) + " (got " + s + ")");
    return false;
  }
  out = d;
  return true;
}

bool read_size(Context& ctx, const YAML::Node& v, const std::string& key, uint64_t lo, uint64_t hi, uint64_t& out) {
  std::string s;
  if (!scalar(ctx, v, key, kSizeHelp, s)) return false;
  uint64_t n = 0;
  if (!parse_size(s, n)) {
    expected(ctx, v, key, kSizeHelp);
    return false;
  }
  if (n < lo || n > hi) {
    std::string range = hi == UINT64_MAX ? "must be at least " + std::to_string(lo) + " bytes"
                                         : "must be between " + std::to_string(lo) + " and " + std::to_string(hi) +
                                               " bytes";
    ctx.error(v, key, range + " (got " + std::to_string(n) + ")");
    return false;
  }
  out = n;
  return true;
}

bool read_duration(Context& ctx, const YAML::Node& v, const std::string& key, double min, bool exclusive,
                   double& out) {
  std::string s;
  if (!scalar(ctx, v, key, kDurationHelp, s)) return false;
  double d = 0;
  if (!parse_duration(s, d)) {
    expected(ctx, v, key, kDurationHelp);
    return false;
  }
  if (exclusive ? d <= min : d < min) {
    std::string bound = exclusive ? "must be greater than " : "must be at least ";
    ctx.error(v, key, bound + number(min) + " (got " + number(d) + ")");
    return false;
  }
  out = d;
  return true;
}

bool read_strings(Context& ctx, const YAML::Node& v, const std::string& key, std::vector<std::string>& out) {
  std::vector<std::string> list;
  bool ok = true;
  if (v.IsScalar()) {
    list.push_back(v.Scalar());
  } else if (v.IsSequence()) {
    for (size_t i = 0; i < v.size(); ++i) {
      std::string s;
      if (scalar(ctx, v[i], item_key(key, i), "a string", s)) {
        list.push_back(std::move(s));
      } else {
        ok = false;
      }
    }
  } else if (!v.IsNull()) {
    expected(ctx, v, key, "a list of strings");
    return false;
  }
  if (ok) out = std::move(list);
  return ok;
}

bool read_choice(Context& ctx, const YAML::Node& v, const std::string& key, const std::vector<std::string_view>& names,
                 size_t& out) {
  std::string all;
  for (std::string_view n : names) all.append(all.empty() ? "" : ", ").append(n);
  std::string what = "one of " + all;
  std::string s;
  if (!scalar(ctx, v, key, what.c_str(), s)) return false;
  for (size_t i = 0; i < names.size(); ++i) {
    if (iequals(s, names[i])) {
      out = i;
      return true;
    }
  }
  std::string hint = suggest(s, names);
  ctx.error(v, key, "expected " + what + ", got '" + s + "'" + (hint.empty() ? "" : " (did you mean '" + hint + "'?)"));
  return false;
}

}  // namespace wsd::config
