#include "core/http_response.h"
#include "core/text.h"

#include <algorithm>

namespace wsd::core {

namespace {

bool is_safe_header(const HttpHeader& h);

// Only headers that will actually be sent count.
bool has_header(const std::vector<HttpHeader>& headers, std::string_view name) {
  return std::any_of(headers.begin(), headers.end(), [&](const HttpHeader& h) {
    return iequals(h.name, name) && is_safe_header(h);
  });
}

// A header a handler or plugin passes must not be able to end the header
// section early (response splitting): names are tokens, values have no CR,
// LF or NUL. Anything else is dropped rather than sent half-repaired.
bool is_safe_header(const HttpHeader& h) {
  if (h.name.empty()) return false;
  for (char c : h.name) {
    const auto u = static_cast<unsigned char>(c);
    if (u <= 32 || u >= 127 || c == ':' || c == '(' || c == ')' || c == ',' || c == ';' ||
        c == '<' || c == '>' || c == '@' || c == '[' || c == ']' || c == '\\' || c == '"' ||
        c == '/' || c == '?' || c == '=' || c == '{' || c == '}') {
      return false;
    }
  }
  return h.value.find_first_of(std::string_view("\r\n\0", 3)) == std::string::npos;
}

// RFC 9110 §8.6: no Content-Length in 1xx and 204 answers; a 304 would
// have to carry the length of the representation, which we do not know.
bool status_has_no_body(int status) {
  return (status >= 100 && status < 200) || status == 204 || status == 304;
}

void append_header(std::string& out, std::string_view name, std::string_view value) {
  out.append(name);
  out.append(": ");
  out.append(value);
  out.append("\r\n");
}

}  // namespace

std::string_view http_status_text(int status) {
  switch (status) {
    case 100: return "Continue";
    case 101: return "Switching Protocols";
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 206: return "Partial Content";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 303: return "See Other";
    case 304: return "Not Modified";
    case 307: return "Temporary Redirect";
    case 308: return "Permanent Redirect";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 406: return "Not Acceptable";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 410: return "Gone";
    case 411: return "Length Required";
    case 413: return "Content Too Large";
    case 414: return "URI Too Long";
    case 415: return "Unsupported Media Type";
    case 426: return "Upgrade Required";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    case 505: return "HTTP Version Not Supported";
    default: return "Unknown";
  }
}

std::string serialize_http_response(int status, const std::vector<HttpHeader>& headers,
                                    std::string_view body, bool keep_alive) {
  std::string out;
  out.reserve(128 + body.size());
  out.append("HTTP/1.1 ");
  out.append(std::to_string(status));
  out.push_back(' ');
  out.append(http_status_text(status));
  out.append("\r\n");
  for (const HttpHeader& h : headers) {
    if (is_safe_header(h)) append_header(out, h.name, h.value);
  }
  if (!status_has_no_body(status) && !has_header(headers, "Content-Length")) {
    append_header(out, "Content-Length", std::to_string(body.size()));
  }
  if (!keep_alive && !has_header(headers, "Connection")) {
    append_header(out, "Connection", "close");
  }
  out.append("\r\n");
  if (!status_has_no_body(status)) out.append(body);
  return out;
}

std::string http_error_response(int status, const std::vector<HttpHeader>& extra_headers) {
  std::vector<HttpHeader> headers{{"Content-Type", "text/plain; charset=utf-8"},
                                  {"Connection", "close"}};
  headers.insert(headers.end(), extra_headers.begin(), extra_headers.end());
  std::string body = std::to_string(status);
  body.push_back(' ');
  body.append(http_status_text(status));
  body.push_back('\n');
  return serialize_http_response(status, headers, body, false);
}

}  // namespace wsd::core
