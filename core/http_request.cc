#include "core/http_request.h"
#include "core/text.h"

#include <http_parser.h>

#include <climits>

namespace wsd::core {

namespace {

// RFC 9110 §5.6.2 tchar. http_parser in non-strict builds lets spaces into
// header names ("Host : x"), which RFC 9112 §5.1 says must be refused.
bool is_tchar(unsigned char c) {
  if (c >= '0' && c <= '9') return true;
  if ((c | 0x20) >= 'a' && (c | 0x20) <= 'z') return true;
  switch (c) {
    case '!': case '#': case '$': case '%': case '&': case '\'': case '*': case '+':
    case '-': case '.': case '^': case '_': case '`': case '|': case '~':
      return true;
    default:
      return false;
  }
}

bool is_token(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (!is_tchar(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  c = ascii_lower(c);
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

// Splits the request target into path and query. Origin-form ("/a?b") is the
// common case; absolute-form ("http://h/a?b", RFC 9112 §3.2.2) is reduced to
// its path; authority-form (CONNECT) and asterisk-form keep the target as path.
void split_target(HttpRequest& req) {
  std::string_view t = req.target;
  if (!t.empty() && t.front() != '/') {
    http_parser_url url;
    http_parser_url_init(&url);
    if (http_parser_parse_url(t.data(), t.size(), req.method == "CONNECT", &url) == 0 &&
        (url.field_set & (1 << UF_SCHEMA))) {
      const auto field = [&](int f) {
        return (url.field_set & (1 << f))
                   ? t.substr(url.field_data[f].off, url.field_data[f].len)
                   : std::string_view();
      };
      std::string_view path = field(UF_PATH);
      req.path = path.empty() ? "/" : std::string(path);
      req.query = std::string(field(UF_QUERY));
      return;
    }
  }
  t = t.substr(0, t.find('#'));  // a fragment is never sent, but don't let it leak into the query
  const size_t q = t.find('?');
  req.path = std::string(t.substr(0, q));
  req.query = q == std::string_view::npos ? std::string() : std::string(t.substr(q + 1));
}

// The version part of the request line, "HTTP/d.d" (RFC 9112 §2.3). The
// Debian build of http_parser is not strict and lets "HTTX/1.1", extra spaces
// and three-digit versions through, so the raw line is checked again here.
bool request_line_well_formed(std::string_view line, const HttpRequest& req) {
  if (line.ends_with('\n')) line.remove_suffix(1);
  if (line.ends_with('\r')) line.remove_suffix(1);
  const size_t prefix = req.method.size() + 1 + req.target.size() + 1;
  if (line.size() != prefix + 8 || !line.starts_with(req.method) ||
      line[req.method.size()] != ' ' ||
      line.substr(req.method.size() + 1, req.target.size()) != req.target ||
      line[prefix - 1] != ' ') {
    return false;
  }
  const std::string_view version = line.substr(prefix);
  return version.starts_with("HTTP/") && version[5] >= '0' && version[5] <= '9' &&
         version[6] == '.' && version[7] >= '0' && version[7] <= '9';
}

}  // namespace

// ---------------------------------------------------------------------------
// HttpRequest

const std::string* HttpRequest::header(std::string_view name) const {
  for (const HttpHeader& h : headers) {
    if (iequals(h.name, name)) return &h.value;
  }
  return nullptr;
}

std::string HttpRequest::header_joined(std::string_view name) const {
  std::string out;
  for (const HttpHeader& h : headers) {
    if (!iequals(h.name, name) || h.value.empty()) continue;
    if (!out.empty()) out += ", ";
    out += h.value;
  }
  return out;
}

bool HttpRequest::header_has_token(std::string_view name, std::string_view token) const {
  for (const HttpHeader& h : headers) {
    if (!iequals(h.name, name)) continue;
    std::string_view rest = h.value;
    while (!rest.empty()) {
      const size_t comma = rest.find(',');
      if (iequals(trim_ows(rest.substr(0, comma)), token)) return true;
      if (comma == std::string_view::npos) break;
      rest.remove_prefix(comma + 1);
    }
  }
  return false;
}

// ---------------------------------------------------------------------------
// HttpRequestParser
//
// http_parser does the byte-level grammar; this layer adds what it lacks: our
// own size limits, header assembly across split callbacks, token checks, and
// stopping exactly at the end of one request.

struct HttpRequestParser::Impl {
  // Where we are in the request. Head covers the request line and headers,
  // the only part that counts against max_header_bytes.
  enum class Stage { Head, Body, Done };
  // Which header callback ran last: a name callback after a value callback
  // starts a new header; after a name callback it continues the same name
  // (http_parser splits a name at the end of each fed buffer).
  enum class Last { None, Field, Value };

  Impl(HttpRequestParser& o, const HttpLimits& l) : owner(o), limits(l) {
    http_parser_settings_init(&settings);
    settings.on_url = on_url;
    settings.on_header_field = on_header_field;
    settings.on_header_value = on_header_value;
    settings.on_headers_complete = on_headers_complete;
    settings.on_body = on_body;
    settings.on_message_complete = on_message_complete;
    parser.data = this;
    restart();
  }

  void restart() {
    http_parser_init(&parser, HTTP_REQUEST);
    parser.data = this;
    stage = Stage::Head;
    last = Last::None;
    head_bytes = 0;
    trailer_bytes = 0;
    request_line.clear();
    line_done = false;
    fail_status = 0;
    fail_reason = {};
  }

  // Records why a callback stopped the parse; the callback then returns
  // nonzero and feed() reports this status instead of http_parser's errno.
  int fail(int status, std::string_view reason) {
    fail_status = status;
    fail_reason = reason;
    return -1;
  }

  HttpRequest& req() { return owner.request_; }

  static Impl& self(http_parser* p) { return *static_cast<Impl*>(p->data); }

  static int on_url(http_parser* p, const char* at, size_t len) {
    self(p).req().target.append(at, len);
    return 0;
  }

  // Trailer fields (after a chunked body) are bounded but not kept: nothing
  // downstream reads them, and merging them with headers would let a body
  // sender forge headers that were checked at headers-complete time.
  int count_trailer(size_t len) {
    trailer_bytes += len;
    return trailer_bytes > limits.max_header_bytes ? fail(431, "trailer section too large") : 0;
  }

  static int on_header_field(http_parser* p, const char* at, size_t len) {
    Impl& s = self(p);
    if (s.stage != Stage::Head) return s.count_trailer(len);
    auto& headers = s.req().headers;
    if (s.last != Last::Field) {
      if (headers.size() >= s.limits.max_headers) return s.fail(431, "too many headers");
      headers.emplace_back();
    }
    headers.back().name.append(at, len);
    s.last = Last::Field;
    return 0;
  }

  static int on_header_value(http_parser* p, const char* at, size_t len) {
    Impl& s = self(p);
    if (s.stage != Stage::Head) return s.count_trailer(len);
    auto& headers = s.req().headers;
    if (headers.empty()) return s.fail(400, "header value without a name");
    headers.back().value.append(at, len);
    s.last = Last::Value;
    return 0;
  }

  static int on_headers_complete(http_parser* p) {
    Impl& s = self(p);
    s.stage = Stage::Body;
    return s.finish_head();
  }

  int finish_head() {
    HttpRequest& r = req();
    r.method = http_method_str(static_cast<http_method>(parser.method));
    r.version_major = parser.http_major;
    r.version_minor = parser.http_minor;
    r.keep_alive = http_should_keep_alive(&parser) != 0;
    // http_parser reads a request line without a version as HTTP/0.9; we do
    // not speak 0.9, and an absent version is a malformed line: 400. An
    // explicit version other than 1.x is well-formed but unsupported: 505.
    if (parser.http_major == 0) return fail(400, "missing HTTP version");
    const bool line_ok = request_line_well_formed(request_line, r);
    std::string().swap(request_line);  // only needed up to here
    if (!line_ok) return fail(400, "malformed request line");
    if (parser.http_major != 1) return fail(505, "HTTP version not supported");
    for (HttpHeader& h : r.headers) {
      if (!is_token(h.name)) return fail(400, "invalid header name");
      const std::string_view v = trim_ows(h.value);
      if (v.size() != h.value.size()) h.value = std::string(v);
    }
    if (parser.content_length != ULLONG_MAX && parser.content_length > limits.max_body_bytes) {
      return fail(413, "body too large");
    }
    split_target(r);
    return 0;
  }

  static int on_body(http_parser* p, const char* at, size_t len) {
    Impl& s = self(p);
    std::string& body = s.req().body;
    if (len > s.limits.max_body_bytes - body.size()) return s.fail(413, "body too large");
    body.append(at, len);
    return 0;
  }

  // Pausing makes http_parser_execute return right after this request's last
  // byte, leaving pipelined bytes (or WebSocket frames) unconsumed.
  static int on_message_complete(http_parser* p) {
    self(p).stage = Stage::Done;
    http_parser_pause(p, 1);
    return 0;
  }

  // How many of `avail` bytes to hand to http_parser now: while in the head,
  // never more than the head budget left, so that a section that completes
  // within the slice is known to fit.
  size_t slice(size_t avail) const {
    if (stage != Stage::Head) return avail;
    const size_t left = limits.max_header_bytes - head_bytes;
    return avail < left ? avail : left;
  }

  // Keeps a copy of the request line as it is fed (empty lines before it
  // skipped, as http_parser does), bounded by the head slice.
  void capture_request_line(const char* data, size_t n) {
    for (size_t i = 0; i < n && !line_done; ++i) {
      if (request_line.empty() && (data[i] == '\r' || data[i] == '\n')) continue;
      request_line.push_back(data[i]);
      line_done = data[i] == '\n';
    }
  }

  HttpRequestParser& owner;
  HttpLimits limits;
  http_parser parser;
  http_parser_settings settings;
  Stage stage = Stage::Head;
  Last last = Last::None;
  size_t head_bytes = 0;
  size_t trailer_bytes = 0;
  std::string request_line;
  bool line_done = false;
  int fail_status = 0;
  std::string_view fail_reason;
};

HttpRequestParser::HttpRequestParser(const HttpLimits& limits)
    : impl_(std::make_unique<Impl>(*this, limits)) {}

HttpRequestParser::~HttpRequestParser() = default;

size_t HttpRequestParser::feed(const char* data, size_t len) {
  size_t used = 0;
  // Zero-length execute means EOF to http_parser, so the loop never makes one.
  while (state_ == State::Incomplete && used < len) {
    const size_t n = impl_->slice(len - used);
    if (n == 0) {
      set_error(431, "request header section too large");
      break;
    }
    const Impl::Stage before = impl_->stage;
    if (before == Impl::Stage::Head) impl_->capture_request_line(data + used, n);
    const size_t done = http_parser_execute(&impl_->parser, &impl_->settings, data + used, n);
    if (before == Impl::Stage::Head) impl_->head_bytes += done;  // over-counts only once past the head
    used += done;
    check_parser(done < n);
  }
  return used;
}

// Turns http_parser's status after one execute into our state.
void HttpRequestParser::check_parser(bool stopped_early) {
  const auto err = HTTP_PARSER_ERRNO(&impl_->parser);
  if (err == HPE_PAUSED || impl_->stage == Impl::Stage::Done) {
    state_ = State::Complete;
  } else if (impl_->fail_status != 0) {
    set_error(impl_->fail_status, impl_->fail_reason);
  } else if (err == HPE_HEADER_OVERFLOW) {
    set_error(431, "request header section too large");
  } else if (err != HPE_OK) {
    set_error(400, http_errno_description(err));
  } else if (stopped_early) {
    set_error(400, "parser stopped");  // not expected: every stop above is accounted for
  }
}

void HttpRequestParser::set_error(int status, std::string_view reason) {
  state_ = State::Error;
  error_status_ = status;
  error_reason_ = reason;
}

bool HttpRequestParser::upgrade() const {
  return state_ == State::Complete && request_.header("Upgrade") != nullptr;
}

void HttpRequestParser::reset() {
  impl_->restart();
  request_ = HttpRequest();
  state_ = State::Incomplete;
  error_status_ = 0;
  error_reason_ = {};
}

// ---------------------------------------------------------------------------

bool has_valid_host(const HttpRequest& request) {
  if (request.version_major == 1 && request.version_minor == 0) return true;
  size_t hosts = 0;
  for (const HttpHeader& h : request.headers) {
    hosts += iequals(h.name, "host") ? 1 : 0;
  }
  return hosts == 1;
}

std::string url_decode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (c == '+') {
      out += ' ';
    } else if (c == '%' && i + 2 < s.size() && hex_value(s[i + 1]) >= 0 &&
               hex_value(s[i + 2]) >= 0) {
      out += static_cast<char>(hex_value(s[i + 1]) * 16 + hex_value(s[i + 2]));
      i += 2;
    } else {
      out += c;  // a stray '%' is kept as is rather than failing the whole value
    }
  }
  return out;
}

std::string query_param(std::string_view query, std::string_view key) {
  while (!query.empty()) {
    const size_t amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    const size_t eq = pair.find('=');
    if (url_decode(pair.substr(0, eq)) == key) {
      return eq == std::string_view::npos ? std::string() : url_decode(pair.substr(eq + 1));
    }
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  return {};
}

}  // namespace wsd::core
