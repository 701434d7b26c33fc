// HTTP/1.1 request parsing (for the WebSocket upgrade and for plain requests),
// incremental: bytes may arrive split anywhere, one at a time included.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace wsd::core {

struct HttpHeader {
  std::string name;   // as received
  std::string value;  // leading and trailing whitespace removed
};

struct HttpRequest {
  std::string method;   // "GET"
  std::string target;   // "/chat?room=1"
  std::string path;     // "/chat"
  std::string query;    // "room=1" (without '?'), empty when none
  int version_major = 1;
  int version_minor = 1;
  std::vector<HttpHeader> headers;
  std::string body;
  bool keep_alive = true;

  // First value of a header, case-insensitive name; nullptr when absent.
  const std::string* header(std::string_view name) const;
  // All values of a repeated header joined with ", " (RFC 9110 §5.3).
  std::string header_joined(std::string_view name) const;
  // Whether a comma-separated header (in any of its repetitions) holds
  // `token`, compared case-insensitively.
  bool header_has_token(std::string_view name, std::string_view token) const;
};

struct HttpLimits {
  size_t max_header_bytes = 8192;   // request line + header section → 431 beyond
  size_t max_headers = 64;          // → 431 beyond
  size_t max_body_bytes = 2 * 1024 * 1024;  // → 413 beyond
};

class HttpRequestParser {
 public:
  enum class State { Incomplete, Complete, Error };

  explicit HttpRequestParser(const HttpLimits& limits);
  ~HttpRequestParser();
  HttpRequestParser(const HttpRequestParser&) = delete;
  HttpRequestParser& operator=(const HttpRequestParser&) = delete;

  // Feeds bytes and returns how many were consumed. Once the request is
  // Complete, consumption stops at its end: what follows belongs to the
  // WebSocket frames (after an upgrade) or to the next request.
  size_t feed(const char* data, size_t len);

  State state() const { return state_; }
  // On Error: the status to answer with (400, 413, 431, 505) and a short reason.
  int error_status() const { return error_status_; }
  std::string_view error_reason() const { return error_reason_; }
  // True when the request asked for a protocol upgrade (Upgrade header).
  bool upgrade() const;

  HttpRequest& request() { return request_; }
  const HttpRequest& request() const { return request_; }
  // Makes the parser ready for the next request on the same connection.
  void reset();

 private:
  struct Impl;
  void check_parser(bool stopped_early);
  void set_error(int status, std::string_view reason);

  std::unique_ptr<Impl> impl_;
  HttpRequest request_;
  State state_ = State::Incomplete;
  int error_status_ = 0;
  std::string_view error_reason_;
};

// RFC 9112 §3.2: an HTTP/1.1 request must carry exactly one Host header
// (else 400). HTTP/1.0 requests may omit it. The parser does not enforce it
// so that callers can decide (the WebSocket handshake reports it as its own
// refusal reason).
bool has_valid_host(const HttpRequest& request);

// Percent-decodes a query component ('+' as space); used for query and cookies.
std::string url_decode(std::string_view s);
// Looks up one key of a query string ("a=1&b=2"), decoded; empty when absent.
std::string query_param(std::string_view query, std::string_view key);

}  // namespace wsd::core
