// Tests of core/http_response.cc.
#include "core/http_response.h"

#include <doctest/doctest.h>

#include <string>

using wsd::core::http_error_response;
using wsd::core::http_status_text;
using wsd::core::HttpHeader;
using wsd::core::serialize_http_response;

TEST_CASE("http response: status texts") {
  struct Case {
    int status;
    std::string text;
  };
  const Case cases[] = {
      {101, "Switching Protocols"},
      {200, "OK"},
      {201, "Created"},
      {204, "No Content"},
      {301, "Moved Permanently"},
      {302, "Found"},
      {304, "Not Modified"},
      {400, "Bad Request"},
      {401, "Unauthorized"},
      {403, "Forbidden"},
      {404, "Not Found"},
      {405, "Method Not Allowed"},
      {408, "Request Timeout"},
      {413, "Content Too Large"},
      {426, "Upgrade Required"},
      {429, "Too Many Requests"},
      {431, "Request Header Fields Too Large"},
      {500, "Internal Server Error"},
      {501, "Not Implemented"},
      {503, "Service Unavailable"},
      {505, "HTTP Version Not Supported"},
      {0, "Unknown"},
      {299, "Unknown"},
      {999, "Unknown"},
      {-1, "Unknown"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.status);
    CHECK(http_status_text(c.status) == c.text);
  }
}

TEST_CASE("http response: serialize adds Content-Length and keeps header order") {
  const std::string out = serialize_http_response(
      200, {{"Content-Type", "text/plain"}, {"X-A", "1"}, {"X-A", "2"}}, "hello", true);
  CHECK(out ==
        "HTTP/1.1 200 OK\r\n"
        "Content-Type: text/plain\r\n"
        "X-A: 1\r\n"
        "X-A: 2\r\n"
        "Content-Length: 5\r\n"
        "\r\n"
        "hello");
}

TEST_CASE("http response: a given Content-Length or Connection is not duplicated") {
  const std::string out =
      serialize_http_response(404, {{"content-length", "3"}, {"CONNECTION", "close"}}, "abc", false);
  CHECK(out ==
        "HTTP/1.1 404 Not Found\r\n"
        "content-length: 3\r\n"
        "CONNECTION: close\r\n"
        "\r\n"
        "abc");
}

TEST_CASE("http response: Connection: close when not keep-alive") {
  CHECK(serialize_http_response(200, {}, "", false) ==
        "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
  CHECK(serialize_http_response(200, {}, "", true) == "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
}

TEST_CASE("http response: 1xx, 204 and 304 carry neither Content-Length nor body") {
  for (int status : {101, 204, 304}) {
    CAPTURE(status);
    const std::string out = serialize_http_response(status, {{"X", "y"}}, "ignored", true);
    CHECK(out == "HTTP/1.1 " + std::to_string(status) + " " +
                     std::string(http_status_text(status)) + "\r\nX: y\r\n\r\n");
  }
}

TEST_CASE("http response: headers that could split the response are dropped") {
  struct Case {
    std::string name;
    std::string value;
  };
  const Case bad[] = {
      {"X-Evil", "a\r\nSet-Cookie: x=1"},
      {"X-Evil", "a\nb"},
      {"X-Evil", "a\rb"},
      {"X-Evil", std::string("a\0b", 3)},
      {"X Evil", "v"},
      {"X-Evil:", "v"},
      {"X-Evil\r\nY", "v"},
      {"", "v"},
  };
  for (const Case& c : bad) {
    CAPTURE(c.name);
    CAPTURE(c.value);
    const std::string out = serialize_http_response(200, {{c.name, c.value}, {"X-Ok", "1"}}, "", true);
    CHECK(out == "HTTP/1.1 200 OK\r\nX-Ok: 1\r\nContent-Length: 0\r\n\r\n");
  }
  // A dropped Content-Length does not suppress the real one.
  CHECK(serialize_http_response(200, {{"Content-Length", "1\r\n"}}, "ab", true) ==
        "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nab");
}

TEST_CASE("http response: error responses") {
  CHECK(http_error_response(404) ==
        "HTTP/1.1 404 Not Found\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n"
        "Connection: close\r\n"
        "Content-Length: 14\r\n"
        "\r\n"
        "404 Not Found\n");
  const std::string out = http_error_response(426, {{"Sec-WebSocket-Version", "13"}});
  CHECK(out.starts_with("HTTP/1.1 426 Upgrade Required\r\n"));
  CHECK(out.find("\r\nSec-WebSocket-Version: 13\r\n") != std::string::npos);
  CHECK(out.find("\r\nConnection: close\r\n") != std::string::npos);
  CHECK(out.ends_with("\r\n\r\n426 Upgrade Required\n"));
  for (int status : {400, 413, 431, 500, 505}) {
    CAPTURE(status);
    const std::string e = http_error_response(status);
    CHECK(e.starts_with("HTTP/1.1 " + std::to_string(status) + " "));
    const std::string body = e.substr(e.find("\r\n\r\n") + 4);
    CHECK(e.find("Content-Length: " + std::to_string(body.size()) + "\r\n") != std::string::npos);
  }
}
