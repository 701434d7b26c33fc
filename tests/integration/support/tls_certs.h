// Test certificates, made at test time with the `openssl` command line into a
// folder (normally the server's temp folder, through ServerOptions::prepare):
// nothing private is ever committed. Header-only; each openssl run is bounded
// by `timeout 30`.
//
//   ca.pem / ca.key            a test CA (EC P-256)
//   server.pem / server.key    CN=localhost, SAN IP:127.0.0.1 + DNS:localhost, signed by the CA, serial 1001
//   client.pem / client.key    CN=wsd test client (clientAuth), signed by the CA
//   selfsigned.pem / .key      a self-signed certificate for 127.0.0.1: trusted by nobody
#pragma once

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

namespace wsd::test {

struct TestCerts {
  std::string dir;
  std::string file(const std::string& name) const { return dir + "/" + name; }
  std::string ca() const { return file("ca.pem"); }
  std::string server_cert() const { return file("server.pem"); }
  std::string server_key() const { return file("server.key"); }
  std::string client_cert() const { return file("client.pem"); }
  std::string client_key() const { return file("client.key"); }
  std::string selfsigned_cert() const { return file("selfsigned.pem"); }
  std::string selfsigned_key() const { return file("selfsigned.key"); }
};

namespace detail {
inline bool run_openssl(const std::string& dir, const std::string& args) {
  std::string cmd = "cd '" + dir + "' && timeout 30 openssl " + args + " >>openssl.log 2>&1";
  return std::system(cmd.c_str()) == 0;
}
inline const char* ec_key_args() { return "-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes"; }
}  // namespace detail

// A certificate signed by the test CA in `dir` (ca.pem/ca.key must exist):
// writes <name>.pem and <name>.key. `serial` in hex (e.g. "1001").
inline bool make_signed_cert(const std::string& dir, const std::string& name, const std::string& subject,
                             const std::string& serial, bool server = true) {
  std::string ext = name + ".ext";
  {
    std::ofstream out(dir + "/" + ext);
    if (server) {
      out << "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n";
    } else {
      out << "basicConstraints=CA:FALSE\nextendedKeyUsage=clientAuth\n";
    }
  }
  return detail::run_openssl(dir, std::string("req ") + detail::ec_key_args() + " -keyout " + name + ".key -out " +
                                      name + ".csr -subj '" + subject + "'") &&
         detail::run_openssl(dir, "x509 -req -in " + name + ".csr -CA ca.pem -CAkey ca.key -set_serial 0x" + serial +
                                      " -days 2 -out " + name + ".pem -extfile " + ext);
}

// Everything listed above, into `dir`. False when openssl failed (see
// <dir>/openssl.log).
inline bool make_test_certs(const std::string& dir) {
  using detail::ec_key_args;
  using detail::run_openssl;
  return run_openssl(dir, std::string("req -x509 ") + ec_key_args() +
                              " -keyout ca.key -out ca.pem -days 2 -subj '/CN=wsd test CA'"
                              " -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign") &&
         make_signed_cert(dir, "server", "/CN=localhost", "1001") &&
         make_signed_cert(dir, "client", "/CN=wsd test client", "2001", false) &&
         run_openssl(dir, std::string("req -x509 ") + ec_key_args() +
                              " -keyout selfsigned.key -out selfsigned.pem -days 2 -subj /CN=127.0.0.1"
                              " -addext subjectAltName=IP:127.0.0.1");
}

// The config lines of a TLS listener using server.pem / server.key (relative
// paths: the server's folder).
inline std::string tls_listener_keys(const std::string& indent = {}) {
  return indent + "ssl_cert_file: server.pem\n" + indent + "ssl_key_file: server.key\n";
}

}  // namespace wsd::test
