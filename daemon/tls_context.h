// The server side of a TLS listener: building an SSL_CTX from the listener's
// settings, and holding the current one so that a reload (SIGHUP) can swap in
// a renewed certificate while reactors keep accepting.
#pragma once

#include <openssl/types.h>

#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace wsd::daemon {

struct TlsSettings {
  std::string cert_file;          // PEM chain: the server certificate first, then intermediates
  std::string key_file;           // PEM private key matching the certificate
  // Only "TLSv1.2" and "TLSv1.3"; anything older is a configuration error.
  std::vector<std::string> protocols = {"TLSv1.2", "TLSv1.3"};
  std::string ciphers;            // TLS 1.2 cipher list; empty = OpenSSL's secure default
  bool verify_peer = false;       // require a client certificate signed by client_ca_file
  std::string client_ca_file;     // PEM trust anchors, also sent as the acceptable CA list
};

// Builds a server context: certificate chain and key (checked to match),
// protocol range, ciphers, client verification, no renegotiation, no
// compression, buffers released while idle, partial and moving writes (the
// reactor writes from a growing std::string), no server-side session cache
// (stateless tickets still resume), ALPN "http/1.1" when offered.
// Returns nullptr and sets `error` to a sentence naming the file or setting
// and OpenSSL's reason. Leaves the thread's OpenSSL error queue empty.
std::shared_ptr<SSL_CTX> make_tls_context(const TlsSettings& settings, std::string& error);

// Drains the calling thread's OpenSSL error queue into one line of text
// ("reason (detail); reason"), or "unknown error" when it is empty.
std::string take_openssl_errors();

// The context new connections use. Thread-safe: reactors call current() when
// they accept while the master's main thread calls load() or reload().
// A session keeps the context it was created with (SSL_new takes a
// reference), so swapping never disturbs live connections.
class TlsContextHolder {
 public:
  // Builds a context from `settings`; on success remembers the settings and
  // makes it current. On failure nothing changes and `error` says why.
  bool load(const TlsSettings& settings, std::string& error);
  // load() again with the remembered settings: picks up renewed files. A bad
  // new certificate or key keeps the old context serving.
  bool reload(std::string& error);
  // nullptr before the first successful load().
  std::shared_ptr<SSL_CTX> current() const;

 private:
  mutable std::mutex mutex_;      // guards both fields; never held while building
  TlsSettings settings_;
  std::shared_ptr<SSL_CTX> current_;
};

}  // namespace wsd::daemon
