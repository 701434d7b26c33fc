// permessage-deflate (RFC 7692).
//
// Memory per connection while a stream is allocated, measured with the
// counting allocator below (zlib 1.2.13, x86-64; what zlib allocates plus our
// z_stream record; the unit test prints them):
//   window 15, memLevel 8 (default):  deflate 268,232 B   inflate 40,056 B
//   window 9,  memLevel 1:            deflate   9,160 B   inflate  7,800 B
// zlib's formulas: deflate (1 << (windowBits + 2)) + (1 << (memLevel + 9))
// plus ~6 KiB of state; inflate (1 << windowBits) plus ~7 KiB of state (the
// window is allocated at the first output). With context takeover the
// streams live as long as the connection once used; without it both are
// released after each message, so an idle connection holds nothing (each
// thread keeps one spare deflate stream, see Deflater::spare).
#include "core/permessage_deflate.h"

#include <zlib.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>

namespace wsd::core {
namespace {

constexpr std::string_view kExtensionName = "permessage-deflate";
constexpr int kMinWindowBits = 8;    // RFC 7692 §7.1.2
constexpr int kMaxWindowBits = 15;
// zlib refuses raw deflate with an 8-bit window (since 1.2.9; older
// versions silently used 9): the smallest window we can compress with.
constexpr int kMinDeflateWindowBits = 9;

// ---- Header grammar ---------------------------------------------------------
// RFC 6455 §9.1 over RFC 7230's list rule:
//   extension-list = 1#( token *( OWS ";" OWS token [ "=" ( token | quoted-string ) ] ) )
// Whitespace around ";", "," and "=" is tolerated, and so are empty list
// elements. A quoted value must unescape to a token.

bool is_tchar(unsigned char c) {
  if (c >= '0' && c <= '9') return true;
  if ((c | 0x20) >= 'a' && (c | 0x20) <= 'z') return true;
  return c != '\0' && std::strchr("!#$%&'*+-.^_`|~", c) != nullptr;
}

bool is_token(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return is_tchar(c); });
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if ((a[i] | 0x20) != (b[i] | 0x20)) return false;
  }
  return true;
}

// A cursor over the header value. Every reader skips leading whitespace.
class Lexer {
 public:
  explicit Lexer(std::string_view s) : s_(s) {}

  bool at_end() {
    skip_ows();
    return pos_ == s_.size();
  }
  // Consumes `c` if it is next.
  bool eat(char c) {
    skip_ows();
    if (pos_ == s_.size() || s_[pos_] != c) return false;
    ++pos_;
    return true;
  }
  // The token that is next; empty when none is.
  std::string_view token() {
    skip_ows();
    const size_t start = pos_;
    while (pos_ < s_.size() && is_tchar(static_cast<unsigned char>(s_[pos_]))) ++pos_;
    return s_.substr(start, pos_ - start);
  }
  // A parameter value: a token, or a quoted-string that unescapes to one.
  bool value(std::string& out) {
    skip_ows();
    if (pos_ < s_.size() && s_[pos_] == '"') return quoted(out) && is_token(out);
    out = token();
    return !out.empty();
  }

 private:
  void skip_ows() {
    while (pos_ < s_.size() && (s_[pos_] == ' ' || s_[pos_] == '\t')) ++pos_;
  }
  // quoted-string = DQUOTE *( qdtext / "\" ( HTAB / SP / VCHAR / obs-text ) ) DQUOTE
  bool quoted(std::string& out) {
    out.clear();
    for (++pos_; pos_ < s_.size(); ++pos_) {
      unsigned char c = static_cast<unsigned char>(s_[pos_]);
      if (c == '"') return ++pos_, true;
      if (c == '\\') {
        if (++pos_ == s_.size()) return false;
        c = static_cast<unsigned char>(s_[pos_]);
      }
      if ((c < 0x20 && c != '\t') || c == 0x7F) return false;
      out.push_back(static_cast<char>(c));
    }
    return false;  // no closing quote
  }

  std::string_view s_;
  size_t pos_ = 0;
};

struct ExtensionParam {
  std::string_view name;
  std::string value;
  bool has_value = false;
};

struct Extension {
  std::string_view name;  // views into the header
  std::vector<ExtensionParam> params;
};

bool parse_extension(Lexer& lx, Extension& ext) {
  ext.name = lx.token();
  if (ext.name.empty()) return false;
  while (lx.eat(';')) {
    ExtensionParam p;
    p.name = lx.token();
    if (p.name.empty()) return false;
    if (lx.eat('=')) {
      p.has_value = true;
      if (!lx.value(p.value)) return false;
    }
    ext.params.push_back(std::move(p));
  }
  return true;
}

// The header's extensions in order; nullopt when it breaks the grammar
// anywhere (a header we cannot read is not trusted in part).
std::optional<std::vector<Extension>> parse_extensions(std::string_view header) {
  Lexer lx(header);
  std::vector<Extension> list;
  while (!lx.at_end()) {
    if (lx.eat(',')) continue;  // empty list element
    Extension ext;
    if (!parse_extension(lx, ext)) return std::nullopt;
    list.push_back(std::move(ext));
    if (!lx.at_end() && !lx.eat(',')) return std::nullopt;
  }
  return list;
}

// ---- permessage-deflate parameters ------------------------------------------

// One permessage-deflate element (an offer or a response), checked: every
// parameter known, at most once, with a valid value.
struct DeflateElement {
  bool server_no_context_takeover = false;
  bool client_no_context_takeover = false;
  int server_max_window_bits = 0;      // 0: absent
  bool client_max_window_bits = false;  // named
  int client_window_value = 0;          // 0: named without a value
};

// "8".."15", decimal without leading zeros (RFC 7692 §7.1.2.1).
int window_bits_value(const ExtensionParam& p) {
  const std::string& v = p.value;
  if (!p.has_value || v.empty() || v.size() > 2 || v[0] == '0') return 0;
  int n = 0;
  for (char c : v) {
    if (c < '0' || c > '9') return 0;
    n = n * 10 + (c - '0');
  }
  return n >= kMinWindowBits && n <= kMaxWindowBits ? n : 0;
}

enum class Side { Offer, Response };

// Applies one parameter; false when it is unknown, repeated or invalid.
bool apply_param(const ExtensionParam& p, Side side, DeflateElement& e, unsigned& seen) {
  static constexpr std::string_view kNames[] = {
      "server_no_context_takeover", "client_no_context_takeover", "server_max_window_bits",
      "client_max_window_bits"};
  const auto* it = std::find_if(std::begin(kNames), std::end(kNames),
                                [&](std::string_view n) { return iequals(n, p.name); });
  if (it == std::end(kNames)) return false;
  const unsigned bit = 1u << (it - std::begin(kNames));
  if (seen & bit) return false;
  seen |= bit;
  switch (it - std::begin(kNames)) {
    case 0:
      e.server_no_context_takeover = true;
      return !p.has_value;
    case 1:
      e.client_no_context_takeover = true;
      return !p.has_value;
    case 2:
      e.server_max_window_bits = window_bits_value(p);
      return e.server_max_window_bits != 0;
    default:
      // In an offer the value is optional ("you may limit me"); a response
      // states the limit.
      e.client_max_window_bits = true;
      if (!p.has_value) return side == Side::Offer;
      e.client_window_value = window_bits_value(p);
      return e.client_window_value != 0;
  }
}

std::optional<DeflateElement> read_element(const Extension& ext, Side side) {
  DeflateElement e;
  unsigned seen = 0;
  for (const ExtensionParam& p : ext.params) {
    if (!apply_param(p, side, e, seen)) return std::nullopt;
  }
  return e;
}

// RFC 7692 §7.1: what the server answers to an acceptable offer.
//
// Contract with deflate_response_header: client_max_window_bits < 15 means
// the response names it, which happens only when the offer named it. When the
// offer did not, the client compresses with 15 whatever our config says, and
// the response must not name it; we inflate with 15.
std::optional<DeflateParams> accept_offer(const DeflateElement& o, const DeflateConfig& config) {
  // A window of 8 cannot be honoured: zlib deflates with at least 9.
  if (o.server_max_window_bits == kMinWindowBits) return std::nullopt;
  const int cap = std::clamp(config.max_window_bits, kMinDeflateWindowBits, kMaxWindowBits);
  DeflateParams p;
  p.server_no_context_takeover = o.server_no_context_takeover || config.server_no_context_takeover;
  p.client_no_context_takeover = o.client_no_context_takeover || config.client_no_context_takeover;
  const int server_offer = o.server_max_window_bits != 0 ? o.server_max_window_bits : kMaxWindowBits;
  p.server_max_window_bits = std::min(server_offer, cap);
  p.server_max_window_bits_named = o.server_max_window_bits != 0 || p.server_max_window_bits < 15;
  if (o.client_max_window_bits) {
    const int client_offer = o.client_window_value != 0 ? o.client_window_value : kMaxWindowBits;
    p.client_max_window_bits = std::min(client_offer, cap);
  }
  return p;
}

}  // namespace

std::optional<DeflateParams> negotiate_deflate(std::string_view extensions_header,
                                               const DeflateConfig& config) {
  if (!config.enabled) return std::nullopt;
  const auto list = parse_extensions(extensions_header);
  if (!list) return std::nullopt;
  for (const Extension& ext : *list) {
    if (!iequals(ext.name, kExtensionName)) continue;
    const auto offer = read_element(ext, Side::Offer);
    if (!offer) continue;  // declined; the client may have a fallback offer
    if (auto params = accept_offer(*offer, config)) return params;
  }
  return std::nullopt;
}

std::string deflate_response_header(const DeflateParams& params) {
  std::string h(kExtensionName);
  if (params.server_no_context_takeover) h += "; server_no_context_takeover";
  if (params.client_no_context_takeover) h += "; client_no_context_takeover";
  if (params.server_max_window_bits < kMaxWindowBits || params.server_max_window_bits_named) {
    h += "; server_max_window_bits=" + std::to_string(params.server_max_window_bits);
  }
  if (params.client_max_window_bits < kMaxWindowBits) {
    h += "; client_max_window_bits=" + std::to_string(params.client_max_window_bits);
  }
  return h;
}

// The offer lets the server limit our window (client_max_window_bits without
// a value), and caps the server's when the config asks for less than 15.
std::string deflate_offer_header(const DeflateConfig& config) {
  std::string h(kExtensionName);
  h += "; client_max_window_bits";
  const int cap = std::clamp(config.max_window_bits, kMinDeflateWindowBits, kMaxWindowBits);
  if (cap < kMaxWindowBits) h += "; server_max_window_bits=" + std::to_string(cap);
  if (config.server_no_context_takeover) h += "; server_no_context_takeover";
  if (config.client_no_context_takeover) h += "; client_no_context_takeover";
  return h;
}

// nullopt when the response is empty (no compression) or unusable: then the
// client must fail the connection (RFC 7692 §5) if the header was present.
std::optional<DeflateParams> parse_deflate_response(std::string_view response_header) {
  const auto list = parse_extensions(response_header);
  if (!list || list->size() != 1 || !iequals((*list)[0].name, kExtensionName)) {
    return std::nullopt;
  }
  const auto e = read_element((*list)[0], Side::Response);
  // client_max_window_bits=8 asks for a window zlib cannot compress with.
  if (!e || e->client_window_value == kMinWindowBits) return std::nullopt;
  DeflateParams p;
  p.server_no_context_takeover = e->server_no_context_takeover;
  p.client_no_context_takeover = e->client_no_context_takeover;
  p.server_max_window_bits = e->server_max_window_bits != 0 ? e->server_max_window_bits : 15;
  p.server_max_window_bits_named = e->server_max_window_bits != 0;
  p.client_max_window_bits = e->client_window_value != 0 ? e->client_window_value : 15;
  return p;
}

// ---- zlib streams -----------------------------------------------------------
namespace {

// zlib allocates through these so that memory_used() reports what a stream
// really holds. Each block starts with its size, in a header as large as
// max_align_t so zlib's structures keep malloc's alignment.
constexpr size_t kAllocHeader = alignof(std::max_align_t);

voidpf counted_alloc(voidpf opaque, uInt items, uInt size) {
  const size_t n = size_t{items} * size;
  auto* base = static_cast<unsigned char*>(std::malloc(n + kAllocHeader));
  if (base == nullptr) return Z_NULL;
  std::memcpy(base, &n, sizeof n);
  *static_cast<size_t*>(opaque) += n;
  return base + kAllocHeader;
}

void counted_free(voidpf opaque, voidpf address) {
  if (address == Z_NULL) return;
  auto* base = static_cast<unsigned char*>(address) - kAllocHeader;
  size_t n;
  std::memcpy(&n, base, sizeof n);
  *static_cast<size_t*>(opaque) -= n;
  std::free(base);
}

// A z_stream allocating through the counters. Not movable: zlib's state
// points back at it.
struct CountedStream {
  CountedStream() {
    z.zalloc = counted_alloc;
    z.zfree = counted_free;
    z.opaque = &allocated;
  }
  CountedStream(const CountedStream&) = delete;
  CountedStream& operator=(const CountedStream&) = delete;

  z_stream z{};
  size_t allocated = 0;
  bool live = false;  // init succeeded: End must run
};

// zlib counts in uInt; larger buffers go through in pieces of this size.
constexpr size_t kMaxPiece = size_t{1} << 30;
// Z_SYNC_FLUSH wants more than 6 bytes of room (zlib manual), or it may
// repeat flush markers.
constexpr size_t kMinFlushRoom = 16;
// The compression level. 1 rather than zlib's default 6: about 3x faster on
// 1 KiB JSON-ish messages (10 against 28 µs) for a ratio of 0.26 against
// 0.18; see bench/micro/deflate_bench.cc.
constexpr int kLevel = Z_BEST_SPEED;
// RFC 7692 §7.2.1-2: the empty stored block that ends every flushed message.
constexpr uint8_t kTail[4] = {0x00, 0x00, 0xff, 0xff};
// Inflate output goes through a buffer of this size, so the limit is checked
// before any byte of a chunk lands in `out`.
constexpr size_t kInflateChunk = 16 * 1024;

// Appends without letting the capacity outgrow max_out (plain doubling could
// reserve up to twice the limit for one message). Needs out.size() + n <= max_out.
void append_bounded(std::vector<uint8_t>& out, const uint8_t* p, size_t n, size_t max_out) {
  const size_t need = out.size() + n;
  if (need > out.capacity()) out.reserve(std::min(std::max(need, 2 * out.capacity()), max_out));
  out.insert(out.end(), p, p + n);
}

}  // namespace

struct Deflater::Stream : CountedStream {
  int window_bits = 0;
  int mem_level = 0;
  ~Stream() {
    if (live) deflateEnd(&z);
  }
};

struct Inflater::Stream : CountedStream {
  ~Stream() {
    if (live) inflateEnd(&z);
  }
};

// ---- Deflater ---------------------------------------------------------------

Deflater::Deflater(int window_bits, bool no_context_takeover, int mem_level)
    : window_bits_(window_bits), mem_level_(mem_level), no_context_takeover_(no_context_takeover) {}

Deflater::~Deflater() = default;

// Without context takeover a stream serves one compress call. Freeing it and
// allocating ~270 KB again for the next message costs more than the
// compression of a small message (glibc gives the freed memory back to the
// kernel, and taking it again means page faults: 70 µs against 10-30 µs for
// 1 KiB, see bench/micro/deflate_bench.cc). So the last stream released is
// kept, reset, for the next Deflater of the same thread that opens one with
// the same parameters. An idle connection still holds nothing; a thread
// holds at most one spare stream.
std::unique_ptr<Deflater::Stream>& Deflater::spare() {
  thread_local std::unique_ptr<Stream> stream;
  return stream;
}

bool Deflater::open() {
  if (stream_) return true;
  std::unique_ptr<Stream>& s = spare();
  if (s && s->window_bits == window_bits_ && s->mem_level == mem_level_) {
    stream_ = std::move(s);
    return true;
  }
  auto fresh = std::make_unique<Stream>();
  if (deflateInit2(&fresh->z, kLevel, Z_DEFLATED, -window_bits_, mem_level_,
                   Z_DEFAULT_STRATEGY) != Z_OK) {
    return false;
  }
  fresh->live = true;
  fresh->window_bits = window_bits_;
  fresh->mem_level = mem_level_;
  stream_ = std::move(fresh);
  return true;
}

// Releases the stream after a message, into the thread's spare slot (the
// previous spare, if any, is freed).
void Deflater::park() {
  if (deflateReset(&stream_->z) == Z_OK) spare() = std::move(stream_);
  stream_.reset();
}

bool Deflater::compress(const uint8_t* data, size_t len, std::string& out) {
  // RFC 7692 §7.2.3.6: an empty message is an empty stored block less its
  // 00 00 ff ff tail, the byte 0x00. Written by hand because zlib asked to
  // flush twice in a row writes nothing (Z_BUF_ERROR); the block leaves the
  // LZ77 window as it was, so context takeover is unaffected.
  if (len == 0) {
    out.push_back('\0');
    return true;
  }
  if (!open()) return false;
  const size_t start = out.size();
  bool ok = run(data, len, out);
  // Z_SYNC_FLUSH always ends with the empty stored block; drop its tail.
  ok = ok && out.size() - start >= sizeof kTail &&
       std::memcmp(out.data() + out.size() - sizeof kTail, kTail, sizeof kTail) == 0;
  if (ok) out.resize(out.size() - sizeof kTail);
  if (!ok) {
    out.resize(start);
    stream_.reset();
  } else if (no_context_takeover_) {
    park();
  }
  return ok;
}

// Deflates all of `data` and flushes with Z_SYNC_FLUSH, appending to `out`.
bool Deflater::run(const uint8_t* data, size_t len, std::string& out) {
  z_stream& z = stream_->z;
  size_t used = out.size();
  // Usually one deflate call does it all.
  out.resize(used + deflateBound(&z, len) + kMinFlushRoom);
  z.next_in = const_cast<Bytef*>(data);  // zlib never writes through next_in
  size_t in_left = len;
  bool ok = true;
  while (ok) {
    const size_t piece = std::min(in_left, kMaxPiece);
    in_left -= piece;
    z.avail_in = static_cast<uInt>(piece);
    const int flush = in_left == 0 ? Z_SYNC_FLUSH : Z_NO_FLUSH;
    do {
      if (out.size() - used < kMinFlushRoom) out.resize(out.size() + out.size() / 2 + kMinFlushRoom);
      const size_t room = std::min(out.size() - used, kMaxPiece);
      z.next_out = reinterpret_cast<Bytef*>(out.data() + used);
      z.avail_out = static_cast<uInt>(room);
      const int rc = ::deflate(&z, flush);
      used += room - z.avail_out;
      ok = rc == Z_OK || rc == Z_BUF_ERROR;
    } while (ok && (z.avail_out == 0 || z.avail_in != 0));
    if (in_left == 0) break;
  }
  out.resize(used);
  return ok;
}

void Deflater::reset() {
  // In place: a connection with context takeover keeps its stream anyway.
  if (stream_ && deflateReset(&stream_->z) != Z_OK) stream_.reset();
}

size_t Deflater::memory_used() const {
  return stream_ ? sizeof(Stream) + stream_->allocated : 0;
}

// ---- Inflater ---------------------------------------------------------------

Inflater::Inflater(int window_bits, bool no_context_takeover)
    : window_bits_(window_bits), no_context_takeover_(no_context_takeover) {}

Inflater::~Inflater() = default;

// zlib 1.2.13 accepts a raw inflate window of 8 (only deflate refuses it),
// but we inflate with at least 9: a 9-bit window decodes every stream valid
// for 8 (distances up to 256 fit in 512), costs 256 bytes more, and accepts
// peers whose deflater widened 8 to 9 (zlib before 1.2.9 did so silently;
// ports of it may use the whole 512 bytes).
bool Inflater::open() {
  if (stream_) return true;
  auto s = std::make_unique<Stream>();
  if (inflateInit2(&s->z, -std::max(window_bits_, kMinDeflateWindowBits)) != Z_OK) return false;
  s->live = true;
  stream_ = std::move(s);
  return true;
}

Inflater::Result Inflater::inflate(const uint8_t* data, size_t len, std::vector<uint8_t>& out,
                                   size_t max_out) {
  if (len == 0) return Result::Ok;
  if (!open()) return Result::Error;
  in_message_ = true;
  // Bytes after a final block (RFC 7692 §7.2.3.4 shows a trailing 0x00)
  // carry nothing.
  if (final_block_) return Result::Ok;
  const Result r = run(data, len, out, max_out);
  if (r != Result::Ok) {
    stream_.reset();
    in_message_ = final_block_ = false;
  }
  return r;
}

// Inflates `data` until all of it is used and all output is out, or the
// deflate stream ends (final block), or the output would pass max_out.
Inflater::Result Inflater::run(const uint8_t* data, size_t len, std::vector<uint8_t>& out,
                               size_t max_out) {
  z_stream& z = stream_->z;
  uint8_t chunk[kInflateChunk];
  z.next_in = const_cast<Bytef*>(data);  // zlib never writes through next_in
  z.avail_in = 0;
  size_t in_left = len;
  for (;;) {
    if (z.avail_in == 0 && in_left > 0) {
      const size_t piece = std::min(in_left, kMaxPiece);
      in_left -= piece;
      z.avail_in = static_cast<uInt>(piece);
    }
    z.next_out = chunk;
    z.avail_out = sizeof chunk;
    const int rc = ::inflate(&z, Z_SYNC_FLUSH);
    if (rc != Z_OK && rc != Z_BUF_ERROR && rc != Z_STREAM_END) return Result::Error;
    const size_t produced = sizeof chunk - z.avail_out;
    if (out.size() > max_out || produced > max_out - out.size()) return Result::TooBig;
    append_bounded(out, chunk, produced, max_out);
    if (rc == Z_STREAM_END) {
      final_block_ = true;
      return Result::Ok;
    }
    if (z.avail_out != 0 && z.avail_in == 0 && in_left == 0) return Result::Ok;
  }
}

Inflater::Result Inflater::finish(std::vector<uint8_t>& out, size_t max_out) {
  // No compressed bytes at all: an empty message. Some senders do produce
  // that (zlib flushed twice in a row writes nothing); the tail alone would
  // leave the stream inside a stored block's header.
  if (!in_message_) return Result::Ok;
  const Result r = end_message(out, max_out);
  const bool keep = r == Result::Ok && !no_context_takeover_ &&
                    (!final_block_ || restart_keeping_window());
  if (!keep) stream_.reset();
  in_message_ = final_block_ = false;
  return r;
}

// Feeds the tail, unless the stream already ended, and checks that the
// message ended on a block boundary as RFC 7692 §7.2.1 makes every sender do.
// Otherwise the data was truncated, and the next message would be decoded
// from the middle of a block.
Inflater::Result Inflater::end_message(std::vector<uint8_t>& out, size_t max_out) {
  if (final_block_) return Result::Ok;
  const Result r = run(kTail, sizeof kTail, out, max_out);
  if (r != Result::Ok || final_block_) return r;
  // zlib sets 128 in data_type when it stopped where a block header begins.
  return (stream_->z.data_type & 128) != 0 ? Result::Ok : Result::Error;
}

// After a final block zlib takes no more input. With context takeover the
// next message may still refer back into this one, so the new stream starts
// with the old window as its dictionary.
bool Inflater::restart_keeping_window() {
  z_stream& z = stream_->z;
  uint8_t window[1 << kMaxWindowBits];
  uInt n = 0;
  return inflateGetDictionary(&z, window, &n) == Z_OK && inflateReset(&z) == Z_OK &&
         inflateSetDictionary(&z, window, n) == Z_OK;
}

size_t Inflater::memory_used() const {
  return stream_ ? sizeof(Stream) + stream_->allocated : 0;
}

}  // namespace wsd::core
