// Building the server's SSL_CTX step by step; each step names what it was
// loading when it fails, so a configuration error points at the right file.
#include "daemon/tls_context.h"

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <algorithm>
#include <cstring>
#include <system_error>

namespace wsd::daemon {

namespace {

using CtxPtr = std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)>;

constexpr unsigned char kHttp11[] = {'h', 't', 't', 'p', '/', '1', '.', '1'};
// Any value works: OpenSSL refuses to resume a session under client
// verification unless the context has one.
constexpr unsigned char kSessionContext[] = {'w', 's', 'd'};

bool fail(std::string& error, const std::string& what) {
  error = what + ": " + take_openssl_errors();
  return false;
}

int version_of(const std::string& name) {
  if (name == "TLSv1.2") return TLS1_2_VERSION;
  if (name == "TLSv1.3") return TLS1_3_VERSION;
  return 0;
}

// Older versions are refused rather than ignored: a config that asks for
// TLSv1.1 expects clients that cannot connect to a TLS 1.2+ server.
bool set_protocols(SSL_CTX* ctx, const std::vector<std::string>& names, std::string& error) {
  if (names.empty()) {
    error = "protocols: empty (allowed: TLSv1.2, TLSv1.3)";
    return false;
  }
  int low = TLS1_3_VERSION, high = TLS1_2_VERSION;
  for (const std::string& name : names) {
    int v = version_of(name);
    if (v == 0) {
      error = "protocols: '" + name + "' is not allowed (allowed: TLSv1.2, TLSv1.3)";
      return false;
    }
    low = std::min(low, v);
    high = std::max(high, v);
  }
  if (SSL_CTX_set_min_proto_version(ctx, low) != 1 || SSL_CTX_set_max_proto_version(ctx, high) != 1)
    return fail(error, "protocols");
  return true;
}

bool load_identity(SSL_CTX* ctx, const TlsSettings& s, std::string& error) {
  if (SSL_CTX_use_certificate_chain_file(ctx, s.cert_file.c_str()) != 1)
    return fail(error, "certificate " + s.cert_file);
  X509* cert = SSL_CTX_get0_certificate(ctx);
  if (SSL_CTX_use_PrivateKey_file(ctx, s.key_file.c_str(), SSL_FILETYPE_PEM) != 1)
    return fail(error, "private key " + s.key_file);
  // A key of another type than the certificate loads into a slot of its own
  // without complaint (and SSL_CTX_check_private_key then blames that empty
  // slot); comparing the two directly names the real problem.
  if (X509_check_private_key(cert, SSL_CTX_get0_privatekey(ctx)) != 1)
    return fail(error, "private key " + s.key_file + " does not match certificate " + s.cert_file);
  return true;
}

bool set_client_verification(SSL_CTX* ctx, const TlsSettings& s, std::string& error) {
  if (!s.verify_peer) return true;
  if (s.client_ca_file.empty()) {
    error = "verify_peer needs client_ca_file (the CAs that sign client certificates)";
    return false;
  }
  const char* file = s.client_ca_file.c_str();
  if (SSL_CTX_load_verify_locations(ctx, file, nullptr) != 1)
    return fail(error, "client CA file " + s.client_ca_file);
  STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(file);
  if (names == nullptr) return fail(error, "client CA file " + s.client_ca_file);
  SSL_CTX_set_client_CA_list(ctx, names);  // takes ownership
  SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
  return true;
}

// Picks "http/1.1" from the client's ALPN list. A client offering only other
// protocols gets no ALPN answer instead of a failed handshake.
int select_alpn(SSL*, const unsigned char** out, unsigned char* outlen, const unsigned char* in,
                unsigned int inlen, void*) {
  for (unsigned int i = 0; i < inlen;) {
    unsigned int len = in[i];
    if (i + 1 + len > inlen) break;
    if (len == sizeof kHttp11 && std::memcmp(in + i + 1, kHttp11, len) == 0) {
      *out = in + i + 1;
      *outlen = static_cast<unsigned char>(len);
      return SSL_TLSEXT_ERR_OK;
    }
    i += 1 + len;
  }
  return SSL_TLSEXT_ERR_NOACK;
}

void set_behaviour(SSL_CTX* ctx) {
  SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION);
  // Partial + moving writes fit the reactor's output string, which may grow
  // (and move) between a blocked write and its retry. Released buffers keep
  // idle connections from holding ~34 KiB of TLS buffers each.
  SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS | SSL_MODE_ENABLE_PARTIAL_WRITE |
                            SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  // One read() can then fetch several records instead of two reads per record.
  SSL_CTX_set_read_ahead(ctx, 1);
  // No per-session server memory; TLS 1.3 tickets are stateless and one suffices.
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
  SSL_CTX_set_num_tickets(ctx, 1);
  SSL_CTX_set_session_id_context(ctx, kSessionContext, sizeof kSessionContext);
  SSL_CTX_set_alpn_select_cb(ctx, select_alpn, nullptr);
}

bool configure(SSL_CTX* ctx, const TlsSettings& s, std::string& error) {
  if (!set_protocols(ctx, s.protocols, error)) return false;
  if (!s.ciphers.empty() && SSL_CTX_set_cipher_list(ctx, s.ciphers.c_str()) != 1)
    return fail(error, "ciphers '" + s.ciphers + "'");
  if (!load_identity(ctx, s, error)) return false;
  if (!set_client_verification(ctx, s, error)) return false;
  set_behaviour(ctx);
  return true;
}

// OpenSSL 3 has no reason string for errno values it queues.
std::string reason_of(unsigned long e) {
  if (ERR_SYSTEM_ERROR(e)) return std::generic_category().message(ERR_GET_REASON(e));
  const char* reason = ERR_reason_error_string(e);
  return reason ? reason : "error " + std::to_string(ERR_GET_REASON(e));
}

}  // namespace

std::string take_openssl_errors() {
  std::string text;
  const char* data = nullptr;
  int flags = 0;
  while (unsigned long e = ERR_get_error_all(nullptr, nullptr, nullptr, &data, &flags)) {
    // "system lib" only says that the errno entry before it is the cause.
    if (ERR_GET_REASON(e) == ERR_R_SYS_LIB) continue;
    std::string item = reason_of(e);
    if ((flags & ERR_TXT_STRING) && data && *data) item += std::string(" (") + data + ")";
    if (text.find(item) != std::string::npos) continue;  // libraries repeat the same cause
    if (!text.empty()) text += "; ";
    text += item;
  }
  return text.empty() ? "unknown error" : text;
}

std::shared_ptr<SSL_CTX> make_tls_context(const TlsSettings& settings, std::string& error) {
  ERR_clear_error();  // a stale entry would be blamed on our files
  CtxPtr ctx(SSL_CTX_new(TLS_server_method()), &SSL_CTX_free);
  if (!ctx) {
    fail(error, "creating a TLS context");
    return nullptr;
  }
  bool ok = configure(ctx.get(), settings, error);
  ERR_clear_error();  // some loaders queue errors they recovered from
  if (!ok) return nullptr;
  return std::shared_ptr<SSL_CTX>(ctx.release(), &SSL_CTX_free);
}

bool TlsContextHolder::load(const TlsSettings& settings, std::string& error) {
  // Built outside the lock: reading files must not stall accepting reactors.
  std::shared_ptr<SSL_CTX> fresh = make_tls_context(settings, error);
  if (!fresh) return false;
  std::lock_guard lock(mutex_);
  settings_ = settings;
  current_.swap(fresh);
  return true;  // the old context dies here unless a session still holds it
}

bool TlsContextHolder::reload(std::string& error) {
  TlsSettings settings;
  {
    std::lock_guard lock(mutex_);
    if (!current_) {
      error = "TLS reload before any successful load";
      return false;
    }
    settings = settings_;
  }
  return load(settings, error);
}

std::shared_ptr<SSL_CTX> TlsContextHolder::current() const {
  std::lock_guard lock(mutex_);
  return current_;
}

}  // namespace wsd::daemon
