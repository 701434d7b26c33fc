// Tests of daemon/tls_context.cc and daemon/tls_session.cc. Keys and
// certificates are made at test time in a scratch folder (nothing private is
// committed). The server is a TlsSession, the client plain OpenSSL; both are
// non-blocking ends of one socketpair, pumped in turn on this thread with a
// bounded number of rounds, so a stuck state fails instead of hanging.
#include <doctest/doctest.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "daemon/tls_context.h"
#include "daemon/tls_session.h"

using wsd::daemon::make_tls_context;
using wsd::daemon::TlsContextHolder;
using wsd::daemon::TlsSession;
using wsd::daemon::TlsSettings;
using Io = TlsSession::Io;

namespace {

using KeyPtr = std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)>;
using CertPtr = std::unique_ptr<X509, decltype(&X509_free)>;
using SslPtr = std::unique_ptr<SSL, decltype(&SSL_free)>;
using CtxPtr = std::shared_ptr<SSL_CTX>;

constexpr int kRounds = 2000;  // pump rounds before a test gives up

// A fresh folder under $TMPDIR, removed with the object.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "wsd-tls-XXXXXX").string();
    REQUIRE(mkdtemp(tmpl.data()) != nullptr);
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

void put(const std::string& path, const std::string& content) { std::ofstream(path) << content; }

// ---- certificates -------------------------------------------------------

KeyPtr ec_key() { return KeyPtr(EVP_EC_gen("P-256"), &EVP_PKEY_free); }
KeyPtr rsa_key() { return KeyPtr(EVP_RSA_gen(2048), &EVP_PKEY_free); }

void add_ext(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
  REQUIRE(ext != nullptr);
  X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
}

struct CertSpec {
  const char* cn;
  const char* usage;        // extendedKeyUsage; nullptr for a CA
  const char* san = nullptr;
};

// A one-day certificate for `key`, signed by issuer (nullptr: self-signed CA).
CertPtr make_cert(const CertSpec& spec, EVP_PKEY* key, X509* issuer, EVP_PKEY* issuer_key) {
  static long serial = 1;
  CertPtr cert(X509_new(), &X509_free);
  X509* x = cert.get();
  X509_set_version(x, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(x), serial++);
  X509_gmtime_adj(X509_getm_notBefore(x), -3600);
  X509_gmtime_adj(X509_getm_notAfter(x), 86400);
  X509_set_pubkey(x, key);
  X509_NAME* name = X509_get_subject_name(x);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(spec.cn), -1, -1, 0);
  X509* signer = issuer ? issuer : x;
  X509_set_issuer_name(x, X509_get_subject_name(signer));
  bool ca = spec.usage == nullptr;
  add_ext(x, signer, NID_basic_constraints, ca ? "critical,CA:TRUE" : "critical,CA:FALSE");
  add_ext(x, signer, NID_key_usage, ca ? "critical,keyCertSign,cRLSign" : "critical,digitalSignature");
  add_ext(x, signer, NID_subject_key_identifier, "hash");
  if (!ca) add_ext(x, signer, NID_ext_key_usage, spec.usage);
  if (spec.san) add_ext(x, signer, NID_subject_alt_name, spec.san);
  REQUIRE(X509_sign(x, issuer_key ? issuer_key : key, EVP_sha256()) > 0);
  return cert;
}

void write_pem(const std::string& path, X509* cert) {
  FILE* f = std::fopen(path.c_str(), "w");
  REQUIRE(f != nullptr);
  PEM_write_X509(f, cert);
  std::fclose(f);
}

void write_pem(const std::string& path, EVP_PKEY* key) {
  FILE* f = std::fopen(path.c_str(), "w");
  REQUIRE(f != nullptr);
  PEM_write_PrivateKey(f, key, nullptr, nullptr, 0, nullptr, nullptr);
  std::fclose(f);
}

// The test PKI, made once per run: a CA; a server (CN/SAN localhost) and a
// client certificate signed by it; the server re-issued with the same key
// (a renewal); an unrelated self-signed certificate; an RSA key.
struct Pki {
  TempDir dir;
  std::string ca = dir.file("ca.pem");
  std::string server_cert = dir.file("server.pem"), server_key = dir.file("server.key");
  std::string renewed_cert = dir.file("renewed.pem");
  std::string client_cert = dir.file("client.pem"), client_key = dir.file("client.key");
  std::string bad_cert = dir.file("bad.pem"), bad_key = dir.file("bad.key");
  std::string rsa_key_file = dir.file("rsa.key");

  Pki() {
    // OpenSSL's socket BIO writes with write(2); the daemon ignores SIGPIPE too.
    std::signal(SIGPIPE, SIG_IGN);
    KeyPtr ca_key = ec_key(), srv = ec_key(), cli = ec_key(), bad = ec_key(), rsa = rsa_key();
    CertPtr ca_cert = make_cert({"wsd test CA", nullptr}, ca_key.get(), nullptr, nullptr);
    const CertSpec server{"localhost", "serverAuth", "DNS:localhost"};
    write_pem(ca, ca_cert.get());
    write_pem(server_cert, make_cert(server, srv.get(), ca_cert.get(), ca_key.get()).get());
    write_pem(renewed_cert, make_cert(server, srv.get(), ca_cert.get(), ca_key.get()).get());
    write_pem(server_key, srv.get());
    write_pem(client_cert, make_cert({"client", "clientAuth"}, cli.get(), ca_cert.get(), ca_key.get()).get());
    write_pem(client_key, cli.get());
    write_pem(bad_cert, make_cert({"bad", "clientAuth,serverAuth"}, bad.get(), nullptr, nullptr).get());
    write_pem(bad_key, bad.get());
    write_pem(rsa_key_file, rsa.get());
  }
};

const Pki& pki() {
  static Pki instance;
  return instance;
}

TlsSettings server_settings() {
  TlsSettings s;
  s.cert_file = pki().server_cert;
  s.key_file = pki().server_key;
  return s;
}

CtxPtr server_context(const TlsSettings& settings = server_settings()) {
  std::string error;
  CtxPtr ctx = make_tls_context(settings, error);
  INFO(error);
  REQUIRE(ctx != nullptr);
  return ctx;
}

// ---- the client ---------------------------------------------------------

struct ClientOptions {
  int max_version = 0;                 // 0 = OpenSSL's default (TLS 1.3)
  std::string cert, key;               // client certificate, if any
  std::vector<unsigned char> alpn;     // wire format; empty = no ALPN
};

// A client that checks the server against the test CA and host "localhost".
CtxPtr client_context(const ClientOptions& o = {}) {
  CtxPtr ctx(SSL_CTX_new(TLS_client_method()), &SSL_CTX_free);
  REQUIRE(ctx != nullptr);
  SSL_CTX* c = ctx.get();
  REQUIRE(SSL_CTX_load_verify_locations(c, pki().ca.c_str(), nullptr) == 1);
  SSL_CTX_set_verify(c, SSL_VERIFY_PEER, nullptr);
  SSL_CTX_set_mode(c, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  if (o.max_version) {
    // Old versions need security level 0 to be offered at all; the server
    // must be the one refusing them.
    SSL_CTX_set_security_level(c, 0);
    REQUIRE(SSL_CTX_set_cipher_list(c, "DEFAULT:@SECLEVEL=0") == 1);
    REQUIRE(SSL_CTX_set_min_proto_version(c, TLS1_VERSION) == 1);
    REQUIRE(SSL_CTX_set_max_proto_version(c, o.max_version) == 1);
  }
  if (!o.cert.empty()) {
    REQUIRE(SSL_CTX_use_certificate_chain_file(c, o.cert.c_str()) == 1);
    REQUIRE(SSL_CTX_use_PrivateKey_file(c, o.key.c_str(), SSL_FILETYPE_PEM) == 1);
  }
  if (!o.alpn.empty())
    REQUIRE(SSL_CTX_set_alpn_protos(c, o.alpn.data(), static_cast<unsigned>(o.alpn.size())) == 0);
  return ctx;
}

// A server session and a client SSL on the two ends of a non-blocking socketpair.
struct Pair {
  int server_fd = -1, client_fd = -1;
  std::unique_ptr<TlsSession> server;
  SslPtr client{nullptr, &SSL_free};

  Pair(SSL_CTX* server_ctx, SSL_CTX* client_ctx) {
    int fds[2];
    REQUIRE(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, fds) == 0);
    server_fd = fds[0];
    client_fd = fds[1];
    // Small socket buffers make "the socket is full" happen at a known size.
    const int size = 64 * 1024;
    for (int fd : fds) REQUIRE(setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof size) == 0);
    server = std::make_unique<TlsSession>(server_ctx, server_fd);
    client.reset(SSL_new(client_ctx));
    SSL_set_fd(client.get(), client_fd);
    SSL_set_connect_state(client.get());
    SSL_set1_host(client.get(), "localhost");
  }
  ~Pair() {
    server.reset();
    client.reset();
    if (server_fd >= 0) close(server_fd);
    if (client_fd >= 0) close(client_fd);
  }
  Pair(const Pair&) = delete;
  Pair& operator=(const Pair&) = delete;

  void close_client() {
    close(client_fd);
    client_fd = -1;
  }
};

bool want(Io io) { return io == Io::WantRead || io == Io::WantWrite; }

// -1 = failed, 0 = would block, 1 = done; failures leave the queue empty.
int client_step(int ret, SSL* ssl) {
  if (ret == 1) return 1;
  int code = SSL_get_error(ssl, ret);
  ERR_clear_error();
  return code == SSL_ERROR_WANT_READ || code == SSL_ERROR_WANT_WRITE ? 0 : -1;
}

struct Outcome {
  Io server = Io::WantRead;
  int client = 0;  // as client_step
};

// Runs both handshakes until each has finished or failed.
Outcome handshake(Pair& p) {
  Outcome o;
  for (int i = 0; i < kRounds && (want(o.server) || o.client == 0); ++i) {
    if (want(o.server)) o.server = p.server->handshake();
    if (o.client == 0) o.client = client_step(SSL_do_handshake(p.client.get()), p.client.get());
    // A server that gave up may leave a client waiting forever for more.
    if (!want(o.server) && o.server != Io::Ok && i > 20) break;
  }
  return o;
}

void connect(Pair& p) {
  Outcome o = handshake(p);
  INFO(p.server->error_text());
  REQUIRE(o.server == Io::Ok);
  REQUIRE(o.client == 1);
  REQUIRE(p.server->handshake_done());
}

// Whatever the client can read now (handles tickets and would-block).
std::string client_read(SSL* ssl) {
  std::string got;
  char buf[65536];
  size_t n = 0;
  while (SSL_read_ex(ssl, buf, sizeof buf, &n) == 1) got.append(buf, n);
  ERR_clear_error();
  return got;
}

std::string pattern(size_t size) {
  std::string s(size, '\0');
  for (size_t i = 0; i < size; ++i) s[i] = static_cast<char>((i * 131 + i / 7) & 0xFF);
  return s;
}

// Server -> client through TlsSession::write, from `off` on (the bytes before
// it were sent already); counts writes that could not take everything
// (WantWrite or a short Ok). Returns all the client read.
std::string server_to_client(Pair& p, const std::string& data, int& blocked, size_t off = 0) {
  std::string got;
  for (int i = 0; i < kRounds && got.size() < data.size(); ++i) {
    if (off < data.size()) {
      size_t n = 0;
      Io io = p.server->write(reinterpret_cast<const uint8_t*>(data.data()) + off, data.size() - off, n);
      REQUIRE((io == Io::Ok || io == Io::WantWrite));
      if (io == Io::WantWrite || off + n < data.size()) ++blocked;
      off += n;
    }
    got += client_read(p.client.get());
  }
  return got;
}

// Client -> server, read by TlsSession::read into a 64 KiB buffer as the
// reactor does.
std::string client_to_server(Pair& p, const std::string& data) {
  std::string got;
  std::vector<uint8_t> buf(65536);
  size_t off = 0;
  for (int i = 0; i < kRounds && got.size() < data.size(); ++i) {
    size_t n = 0;
    if (off < data.size() && SSL_write_ex(p.client.get(), data.data() + off, data.size() - off, &n) == 1)
      off += n;
    ERR_clear_error();
    Io io;
    while ((io = p.server->read(buf.data(), buf.size(), n)) == Io::Ok && n > 0)
      got.append(reinterpret_cast<char*>(buf.data()), n);
    REQUIRE(io == Io::WantRead);
  }
  return got;
}

// Server reads (the client reading in between) until something other than
// data or would-block; the data read is appended to `data`.
Io server_read_until_done(Pair& p, std::string* data = nullptr) {
  uint8_t buf[4096];
  size_t n = 0;
  Io io = Io::WantRead;
  for (int i = 0; i < kRounds && want(io); ++i) {
    io = p.server->read(buf, sizeof buf, n);
    if (io == Io::Ok && data) data->append(reinterpret_cast<char*>(buf), n);
    if (io == Io::Ok) io = Io::WantRead;
    client_read(p.client.get());  // lets the client answer alerts or handshakes
  }
  return io;
}

}  // namespace

// ---- the context ----------------------------------------------------------

TEST_CASE("tls context: loads a certificate chain and key") {
  std::string error;
  CHECK(make_tls_context(server_settings(), error) != nullptr);
  CHECK(error.empty());
  CHECK(ERR_peek_error() == 0);
}

TEST_CASE("tls context: a key that does not match the certificate is refused, naming the key file") {
  for (const std::string& key : {pki().bad_key, pki().rsa_key_file}) {
    CAPTURE(key);
    TlsSettings s = server_settings();
    s.key_file = key;
    std::string error;
    CHECK(make_tls_context(s, error) == nullptr);
    CHECK(error.find(key) != std::string::npos);
    CHECK(error.find("mismatch") != std::string::npos);
    CHECK(ERR_peek_error() == 0);
  }
}

TEST_CASE("tls context: missing files are named with the system's reason") {
  struct Case { std::string TlsSettings::*field; bool verify; };
  for (Case c : {Case{&TlsSettings::cert_file, false}, Case{&TlsSettings::key_file, false},
                 Case{&TlsSettings::client_ca_file, true}}) {
    TlsSettings s = server_settings();
    s.verify_peer = c.verify;
    s.client_ca_file = pki().ca;
    s.*c.field = pki().dir.file("absent.pem");
    std::string error;
    CHECK(make_tls_context(s, error) == nullptr);
    CAPTURE(error);
    CHECK(error.find(pki().dir.file("absent.pem")) != std::string::npos);
    CHECK(error.find("No such file") != std::string::npos);
  }
}

TEST_CASE("tls context: protocols other than TLSv1.2 and TLSv1.3 are configuration errors") {
  struct Case { std::vector<std::string> protocols; bool ok; };
  const Case cases[] = {
      {{"TLSv1.2", "TLSv1.3"}, true},
      {{"TLSv1.3"}, true},
      {{"TLSv1.2"}, true},
      {{"TLSv1.1"}, false},
      {{"TLSv1.2", "TLSv1.1"}, false},
      {{"TLSv1"}, false},
      {{"SSLv3"}, false},
      {{"tlsv1.3"}, false},
      {{}, false},
  };
  for (const Case& c : cases) {
    TlsSettings s = server_settings();
    s.protocols = c.protocols;
    std::string error;
    CAPTURE(error);
    CHECK((make_tls_context(s, error) != nullptr) == c.ok);
    CHECK(error.empty() == c.ok);
    if (!c.ok) CHECK(error.find("protocols") != std::string::npos);
  }
}

TEST_CASE("tls context: bad cipher list and verify_peer without CAs are errors") {
  TlsSettings s = server_settings();
  s.ciphers = "NO-SUCH-CIPHER";
  std::string error;
  CHECK(make_tls_context(s, error) == nullptr);
  CHECK(error.find("NO-SUCH-CIPHER") != std::string::npos);

  s = server_settings();
  s.verify_peer = true;
  CHECK(make_tls_context(s, error) == nullptr);
  CHECK(error.find("client_ca_file") != std::string::npos);
}

TEST_CASE("tls context holder: reload keeps the old context on a bad certificate, swaps on a good one") {
  TempDir dir;
  TlsSettings s;
  s.cert_file = dir.file("cert.pem");
  s.key_file = dir.file("key.pem");
  put(s.cert_file, slurp(pki().server_cert));
  put(s.key_file, slurp(pki().server_key));

  TlsContextHolder holder;
  std::string error;
  CHECK_FALSE(holder.reload(error));  // nothing loaded yet
  CHECK(holder.current() == nullptr);
  REQUIRE(holder.load(s, error));
  CtxPtr first = holder.current();
  REQUIRE(first != nullptr);

  put(s.cert_file, slurp(pki().bad_cert));  // does not match key.pem
  CHECK_FALSE(holder.reload(error));
  CHECK(error.find(s.key_file) != std::string::npos);
  CHECK(holder.current() == first);

  std::filesystem::remove(s.cert_file);
  CHECK_FALSE(holder.reload(error));
  CHECK(error.find(s.cert_file) != std::string::npos);
  CHECK(holder.current() == first);

  put(s.cert_file, slurp(pki().renewed_cert));
  CHECK(holder.reload(error));
  CHECK(holder.current() != first);
  CHECK(holder.current() != nullptr);
}

TEST_CASE("tls context holder: a session keeps its context across a reload") {
  TlsContextHolder holder;
  std::string error;
  REQUIRE(holder.load(server_settings(), error));
  CtxPtr client = client_context();
  SSL_CTX* old = holder.current().get();
  Pair p(old, client.get());  // the holder's reference is the only other one
  REQUIRE(holder.reload(error));
  CHECK(holder.current().get() != old);
  connect(p);  // would be a use-after-free (ASan) if the session did not own a reference
  int blocked = 0;
  CHECK(server_to_client(p, "still here", blocked) == "still here");
}

TEST_CASE("tls context holder: current() is safe while the main thread reloads") {
  TlsContextHolder holder;
  std::string error;
  REQUIRE(holder.load(server_settings(), error));
  std::atomic<bool> stop{false};
  std::atomic<int> nulls{0};
  std::thread reactor([&] {
    while (!stop) {
      if (!holder.current()) ++nulls;
    }
  });
  for (int i = 0; i < 20; ++i) CHECK(holder.reload(error));
  stop = true;
  reactor.join();
  CHECK(nulls == 0);
}

// ---- sessions ---------------------------------------------------------------

TEST_CASE("tls session: handshake, TLS 1.3 by default, data both ways") {
  CtxPtr server = server_context(), client = client_context();
  Pair p(server.get(), client.get());
  CHECK(p.server->protocol().empty());
  connect(p);
  CHECK(p.server->protocol() == "TLSv1.3");
  CHECK(p.server->handshake() == Io::Ok);  // idempotent once done
  CHECK(SSL_get_verify_result(p.client.get()) == X509_V_OK);

  int blocked = 0;
  CHECK(server_to_client(p, "hello client", blocked) == "hello client");
  CHECK(client_to_server(p, "hello server") == "hello server");
}

TEST_CASE("tls session: 1 MiB each way, with partial writes and WantWrite") {
  CtxPtr server = server_context(), client = client_context();
  Pair p(server.get(), client.get());
  connect(p);
  const std::string big = pattern(1 << 20);

  // Without a reader the socket fills: the first write is short, the next blocks.
  size_t n = 0;
  CHECK(p.server->write(reinterpret_cast<const uint8_t*>(big.data()), big.size(), n) == Io::Ok);
  CHECK(n > 0);
  CHECK(n < big.size());
  size_t again = 0;
  CHECK(p.server->write(reinterpret_cast<const uint8_t*>(big.data()) + n, big.size() - n, again) ==
        Io::WantWrite);
  CHECK(again == 0);

  // The retry passes the bytes not consumed, from another address (the
  // reactor's output string may move when it grows).
  const std::string moved = big;
  int blocked = 0;
  CHECK(server_to_client(p, moved, blocked, n) == big);
  CHECK(blocked > 0);
  CHECK(client_to_server(p, big) == big);
}

TEST_CASE("tls session: pending() reports decrypted bytes a small read left behind") {
  CtxPtr server = server_context(), client = client_context();
  Pair p(server.get(), client.get());
  connect(p);
  const std::string data = pattern(10000);
  size_t n = 0;
  REQUIRE(SSL_write_ex(p.client.get(), data.data(), data.size(), &n) == 1);
  REQUIRE(n == data.size());

  std::vector<uint8_t> buf(data.size() + 100);
  CHECK(p.server->read(buf.data(), 100, n) == Io::Ok);
  CHECK(n == 100);
  CHECK(p.server->pending());
  size_t rest = 0;
  CHECK(p.server->read(buf.data() + 100, buf.size() - 100, rest) == Io::Ok);
  CHECK(n + rest == data.size());
  CHECK(std::string(buf.begin(), buf.begin() + static_cast<long>(n + rest)) == data);
  CHECK_FALSE(p.server->pending());
  CHECK(p.server->read(buf.data(), buf.size(), n) == Io::WantRead);
}

TEST_CASE("tls session: close_notify from the client reads as Closed; ours reaches the client") {
  CtxPtr server = server_context(), client = client_context();
  Pair p(server.get(), client.get());
  connect(p);
  CHECK(SSL_shutdown(p.client.get()) == 0);  // sent, the server's not seen yet
  std::string data;
  CHECK(server_read_until_done(p, &data) == Io::Closed);
  CHECK(data.empty());
  p.server->shutdown();
  p.server->shutdown();  // once only
  char buf[16];
  size_t n = 0;
  CHECK(SSL_read_ex(p.client.get(), buf, sizeof buf, &n) == 0);
  CHECK(SSL_get_error(p.client.get(), 0) == SSL_ERROR_ZERO_RETURN);
  ERR_clear_error();
}

TEST_CASE("tls session: a TLSv1.2-only listener negotiates TLS 1.2 with the configured cipher") {
  TlsSettings s = server_settings();
  s.protocols = {"TLSv1.2"};
  s.ciphers = "ECDHE-ECDSA-AES128-GCM-SHA256";
  CtxPtr server = server_context(s), client = client_context();
  Pair p(server.get(), client.get());
  connect(p);
  CHECK(p.server->protocol() == "TLSv1.2");
  CHECK(std::string(SSL_get_cipher_name(p.client.get())) == "ECDHE-ECDSA-AES128-GCM-SHA256");
}

TEST_CASE("tls session: ALPN answers http/1.1 when offered, nothing otherwise") {
  struct Case { std::vector<unsigned char> offer; std::string chosen; };
  const Case cases[] = {
      {{8, 'h', 't', 't', 'p', '/', '1', '.', '1'}, "http/1.1"},
      {{2, 'h', '2', 8, 'h', 't', 't', 'p', '/', '1', '.', '1'}, "http/1.1"},
      {{2, 'h', '2'}, ""},
      {{}, ""},
  };
  CtxPtr server = server_context();
  for (const Case& c : cases) {
    ClientOptions offer;
    offer.alpn = c.offer;
    CtxPtr client = client_context(offer);
    Pair p(server.get(), client.get());
    connect(p);
    const unsigned char* chosen = nullptr;
    unsigned int len = 0;
    SSL_get0_alpn_selected(p.client.get(), &chosen, &len);
    CHECK(std::string(reinterpret_cast<const char*>(chosen), len) == c.chosen);
  }
}

TEST_CASE("tls session: a client limited to TLS 1.1 fails the handshake") {
  ClientOptions old;
  old.max_version = TLS1_1_VERSION;
  CtxPtr server = server_context(), client = client_context(old);
  Pair p(server.get(), client.get());
  Outcome o = handshake(p);
  CHECK(o.server == Io::Error);
  CHECK(o.client == -1);
  CHECK_FALSE(p.server->handshake_done());
  CHECK(p.server->error_text().find("handshake") == 0);
  CHECK(ERR_peek_error() == 0);
}

TEST_CASE("tls session: plain HTTP on a TLS port is a handshake error, not a crash") {
  CtxPtr server = server_context(), client = client_context();
  Pair p(server.get(), client.get());
  const char request[] = "GET / HTTP/1.1\r\n\r\n";
  REQUIRE(write(p.client_fd, request, sizeof request - 1) == static_cast<ssize_t>(sizeof request - 1));
  CHECK(p.server->handshake() == Io::Error);
  CHECK_FALSE(p.server->error_text().empty());
  // The session stays in error without touching SSL again.
  size_t n = 0;
  uint8_t buf[8];
  CHECK(p.server->handshake() == Io::Error);
  CHECK(p.server->read(buf, sizeof buf, n) == Io::Error);
  CHECK(p.server->write(buf, sizeof buf, n) == Io::Error);
  p.server->shutdown();
  CHECK(ERR_peek_error() == 0);
}

TEST_CASE("tls session: EOF during the handshake is Closed") {
  CtxPtr server = server_context(), client = client_context();
  Pair p(server.get(), client.get());
  p.close_client();
  CHECK(p.server->handshake() == Io::Closed);
  CHECK(ERR_peek_error() == 0);
}

TEST_CASE("tls session: half a record then EOF is Closed or Error, never data") {
  CtxPtr server = server_context(), client = client_context();
  Pair p(server.get(), client.get());
  connect(p);
  client_read(p.client.get());  // take the session ticket before diverting output
  BIO* memory = BIO_new(BIO_s_mem());
  SSL_set0_wbio(p.client.get(), memory);  // the SSL owns it now
  size_t n = 0;
  REQUIRE(SSL_write_ex(p.client.get(), "a record cut in two", 19, &n) == 1);
  char* record = nullptr;
  long size = BIO_get_mem_data(memory, &record);
  REQUIRE(size > 10);
  REQUIRE(write(p.client_fd, record, static_cast<size_t>(size / 2)) == size / 2);
  p.close_client();

  uint8_t buf[64];
  Io io = p.server->read(buf, sizeof buf, n);
  CHECK((io == Io::Closed || io == Io::Error));
  CHECK(n == 0);
  CHECK(p.server->read(buf, sizeof buf, n) == io);
  CHECK(ERR_peek_error() == 0);
}

TEST_CASE("tls session: verify_peer requires a client certificate signed by client_ca_file") {
  TlsSettings s = server_settings();
  s.verify_peer = true;
  s.client_ca_file = pki().ca;
  CtxPtr server = server_context(s);
  struct Case { std::string cert, key; bool ok; };
  const Case cases[] = {
      {pki().client_cert, pki().client_key, true},
      {"", "", false},                          // no certificate
      {pki().bad_cert, pki().bad_key, false},   // self-signed, unknown CA
  };
  for (const Case& c : cases) {
    CAPTURE(c.cert);
    ClientOptions identity;
    identity.cert = c.cert;
    identity.key = c.key;
    CtxPtr client = client_context(identity);
    Pair p(server.get(), client.get());
    Outcome o = handshake(p);
    CHECK((o.server == Io::Ok) == c.ok);
    if (c.ok) {
      CHECK(client_to_server(p, "verified") == "verified");
    } else {
      CHECK(o.server == Io::Error);
    }
  }
}

TEST_CASE("tls session: a TLS 1.2 renegotiation attempt is refused") {
  ClientOptions tls12;
  tls12.max_version = TLS1_2_VERSION;
  CtxPtr server = server_context(), client = client_context(tls12);
  Pair p(server.get(), client.get());
  connect(p);
  REQUIRE(p.server->protocol() == "TLSv1.2");
  REQUIRE(SSL_renegotiate(p.client.get()) == 1);
  CHECK(client_step(SSL_do_handshake(p.client.get()), p.client.get()) == 0);  // ClientHello sent

  // The server ignores the ClientHello and answers a no_renegotiation warning;
  // the client gives up with a fatal alert, which the server reads as Error.
  uint8_t buf[64];
  size_t n = 0;
  CHECK(p.server->read(buf, sizeof buf, n) == Io::WantRead);
  CHECK(SSL_do_handshake(p.client.get()) <= 0);
  CHECK(ERR_GET_REASON(ERR_peek_last_error()) == SSL_R_NO_RENEGOTIATION);
  ERR_clear_error();
  CHECK(p.server->read(buf, sizeof buf, n) == Io::Error);
  CHECK(n == 0);
  CHECK(SSL_renegotiate_pending(p.client.get()) == 1);  // never completed
  CHECK(ERR_peek_error() == 0);
}
