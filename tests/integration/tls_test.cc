// TLS listeners (ssl_cert_file / ssl_key_file) with the project's own client
// over OpenSSL and with `openssl s_client`. A test CA and its certificates are
// made at test time in each server's folder (tls_certs.h): nothing private is
// committed. Every wait is bounded; everything listens on 127.0.0.1.
#include <doctest/doctest.h>
#include <openssl/ssl.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "test_helpers.h"
#include "tls_certs.h"
#include "ws_client.h"
#include "wsd_server.h"

using namespace wsd::test;
using namespace std::chrono_literals;

namespace {

// A server with the probe (and echo on /echo) whose first listener speaks
// TLS with the test certificates; `extra` is appended (top-level keys).
ServerOptions tls_options(const std::string& extra = {}, std::vector<std::string> args = {}) {
  ServerOptions o{probe_config(tls_listener_keys() + extra), std::move(args)};
  o.prepare = [](const std::string& dir) { make_test_certs(dir); };
  return o;
}

TestCerts certs_of(const WsdServer& s) { return TestCerts{s.dir()}; }

struct Command {
  int status = -1;   // exit status; -1 when it did not exit normally
  std::string output;
};

// Runs a shell command (stdout and stderr together); the command itself must
// bound its time (`timeout 5 ...`).
Command run(const std::string& cmd) {
  Command r;
  FILE* p = popen((cmd + " 2>&1").c_str(), "r");
  if (p == nullptr) return r;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) r.output.append(buf, n);
  int st = pclose(p);
  if (st != -1 && WIFEXITED(st)) r.status = WEXITSTATUS(st);
  return r;
}

// One TLS connection to the echo plugin that says its text comes back.
bool tls_echo_works(uint16_t port, const std::string& ca, const std::string& text = "still here") {
  WsClient c;
  if (!c.open_tls(port, ca, "/echo")) return false;
  return c.send_text(text) && receive_text(c) == text;
}

// Replaces a file the way an ACME client or an admin does: a new file moved
// over the old path (a reader never sees half of it).
void replace_file(const std::string& from, const std::string& to) { std::filesystem::rename(from, to); }

}  // namespace

TEST_CASE("tls: wss echo of text, 1 MiB binary and compressed messages with our client") {
  WsdServer server(tls_options("websocket_compression: true\n"));
  REQUIRE_MESSAGE(server.started(), server.log());
  TestCerts certs = certs_of(server);
  WsClient c(10s);
  REQUIRE_MESSAGE(c.connect_tls(server.port(), certs.ca()), c.tls_error());
  CHECK(c.tls_version() == "TLSv1.3");
  CHECK(c.peer_cert_serial() == "1001");
  REQUIRE(c.handshake("/echo", {}, true).status == 101);
  REQUIRE(c.deflate().has_value());

  REQUIRE(c.send_text("over tls"));
  Received r = c.receive();
  REQUIRE_MESSAGE(r.kind == Received::Message, describe(r));
  CHECK(r.opcode == 1);
  CHECK(r.data == "over tls");

  std::string big = pattern(1 << 20, true);   // many TLS records each way
  REQUIRE(c.send_binary(big));
  r = c.receive();
  REQUIRE_MESSAGE(r.kind == Received::Message, describe(r));
  CHECK(r.opcode == 2);
  CHECK(r.data.size() == big.size());
  CHECK(r.data == big);

  std::string text = pattern(100000);
  REQUIRE(c.send_compressed(1, text));
  r = c.receive();
  REQUIRE_MESSAGE(r.kind == Received::Message, describe(r));
  CHECK(r.data == text);

  // Fragments arrive reassembled.
  REQUIRE(c.send_frame(1, "frag", false));
  REQUIRE(c.send_frame(0, "mented", true));
  CHECK(receive_text(c) == "fragmented");
}

TEST_CASE("tls: a plain and a TLS listener side by side; get_client_info says which") {
  WsdServer server(tls_options("listeners:\n  - host: 127.0.0.1\n    port: 0\n"));
  REQUIRE_MESSAGE(server.started(), server.log());
  REQUIRE_MESSAGE(server.ports().size() == 2, server.log());
  TestCerts certs = certs_of(server);
  uint16_t tls_port = server.ports()[0];
  uint16_t plain_port = server.ports()[1];

  WsClient secure;
  REQUIRE_MESSAGE(secure.connect_tls(tls_port, certs.ca()), secure.tls_error());
  REQUIRE(secure.handshake("/").status == 101);
  WsClient plain;
  REQUIRE(plain.open(plain_port, "/"));

  ClientInfo a = client_info(secure);
  REQUIRE_MESSAGE(a.ok, a.text);
  CHECK(a.tls == 1);
  CHECK(a.server_port == tls_port);
  CHECK(a.ip == "127.0.0.1");
  CHECK(a.port == secure.local_port());
  CHECK(a.peer_ip == "127.0.0.1");   // no proxy: the peer is the client
  CHECK(a.peer_port == secure.local_port());

  ClientInfo b = client_info(plain);
  REQUIRE_MESSAGE(b.ok, b.text);
  CHECK(b.tls == 0);
  CHECK(b.server_port == plain_port);
  CHECK(b.port == plain.local_port());
  CHECK(b.peer_port == plain.local_port());

  // Plain HTTP (HTTPS) on the TLS listener, keep-alive.
  WsClient https;
  REQUIRE_MESSAGE(https.connect_tls(tls_port, certs.ca()), https.tls_error());
  HttpReply reply = https.http("GET /x?message=hi HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
  CHECK(reply.status == 200);
  CHECK(reply.body == "path=/x message=hi");
  reply = https.http("GET /y HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
  CHECK(reply.status == 200);
  CHECK(reply.body == "path=/y");
}

TEST_CASE("tls: openssl s_client negotiates TLS 1.3 and is refused TLS 1.1") {
  WsdServer server(tls_options());
  REQUIRE_MESSAGE(server.started(), server.log());
  TestCerts certs = certs_of(server);
  std::string base = "timeout 5 openssl s_client -connect 127.0.0.1:" + std::to_string(server.port()) +
                     " -CAfile " + certs.ca() + " -verify_return_error";

  Command v13 = run(base + " -tls1_3 </dev/null");
  CAPTURE(v13.output);
  CHECK(v13.status == 0);
  CHECK(contains(v13.output, "TLSv1.3"));
  CHECK(contains(v13.output, "Verify return code: 0 (ok)"));

  Command v12 = run(base + " -tls1_2 </dev/null");
  CAPTURE(v12.output);
  CHECK(v12.status == 0);
  CHECK(contains(v12.output, "TLSv1.2"));

  // SECLEVEL=0: OpenSSL 3 would not even offer TLS 1.1 otherwise, and the
  // refusal must come from the server.
  Command v11 = run(base + " -tls1_1 -cipher DEFAULT@SECLEVEL=0 </dev/null");
  CAPTURE(v11.output);
  CHECK(v11.status != 0);
  CHECK(contains(v11.output, "alert protocol version"));
  CHECK_FALSE(contains(v11.output, "Cipher is TLS"));
  CHECK_FALSE(contains(v11.output, "Cipher is ECDHE"));

  // Our own client capped at TLS 1.1: the same refusal.
  WsClient old;
  CHECK_FALSE(old.connect_tls(server.port(), certs.ca(), {}, {}, TLS1_1_VERSION));
  CHECK_MESSAGE(contains(old.tls_error(), "protocol version"), old.tls_error());

  CHECK(tls_echo_works(server.port(), certs.ca()));
}

TEST_CASE("tls: ssl_protocols [TLSv1.3] refuses a TLS 1.2 client") {
  WsdServer server(tls_options("ssl_protocols: [TLSv1.3]\n"));
  REQUIRE_MESSAGE(server.started(), server.log());
  TestCerts certs = certs_of(server);
  WsClient c12;
  CHECK_FALSE(c12.connect_tls(server.port(), certs.ca(), {}, {}, TLS1_2_VERSION));
  WsClient c13;
  CHECK_MESSAGE(c13.connect_tls(server.port(), certs.ca()), c13.tls_error());
  CHECK(c13.tls_version() == "TLSv1.3");
}

TEST_CASE("tls: plain HTTP on the TLS port and TLS on the plain port close that connection alone") {
  WsdServer server(tls_options("listeners:\n  - host: 127.0.0.1\n    port: 0\n"));
  REQUIRE_MESSAGE(server.started(), server.log());
  REQUIRE(server.ports().size() == 2);
  TestCerts certs = certs_of(server);
  uint16_t tls_port = server.ports()[0];
  uint16_t plain_port = server.ports()[1];

  // A TLS client that stays connected through all of it (the probe echoes
  // what is not a command).
  WsClient bystander;
  REQUIRE(bystander.open_tls(tls_port, certs.ca(), "/"));

  SUBCASE("a plain-text WebSocket handshake on the TLS port") {
    WsClient c(3s);
    REQUIRE(c.connect(tls_port));
    HttpReply r = c.handshake("/echo");
    CHECK(r.status != 101);
    CHECK(c.wait_eof());
  }
  SUBCASE("plain HTTP on the TLS port") {
    WsClient c(3s);
    REQUIRE(c.connect(tls_port));
    REQUIRE(c.send_raw("GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"));
    CHECK(c.wait_eof());
  }
  SUBCASE("a TLS client on the plain port") {
    WsClient c(3s);
    CHECK_FALSE(c.connect_tls(plain_port, certs.ca()));
    // The plain listener still serves WebSockets.
    WsClient p;
    REQUIRE(p.open(plain_port, "/echo"));
    CHECK(p.send_text("plain") );
    CHECK(receive_text(p) == "plain");
  }
  SUBCASE("a record header, then garbage instead of a ClientHello") {
    WsClient c(3s);
    REQUIRE(c.connect(tls_port));
    REQUIRE(c.send_raw(std::string("\x16\x03\x01\x00\x05hello", 10) + std::string(100, '\x7f')));
    CHECK(c.wait_eof());
  }
  SUBCASE("a truncated record: 3 bytes of a header, then the client closes") {
    for (int i = 0; i < 5; ++i) {
      WsClient c(3s);
      REQUIRE(c.connect(tls_port));
      REQUIRE(c.send_raw(std::string("\x16\x03\x01", 3)));
      c.close();
    }
  }
  SUBCASE("a truncated record after the handshake, then the client closes") {
    // The TLS handshake completes, then half a record arrives and the socket ends.
    WsClient c(3s);
    REQUIRE_MESSAGE(c.connect_tls(tls_port, certs.ca()), c.tls_error());
    REQUIRE(c.handshake("/").status == 101);
    whoami(c);
    ::send(c.fd(), "\x17\x03\x03\x01\x00" "abc", 8, MSG_NOSIGNAL);   // announces 256 bytes, sends 3
    c.close();
  }

  // Everyone else is served: the bystander and new TLS clients.
  CHECK(bystander.send_text("still serving"));
  CHECK(receive_text(bystander) == "still serving");
  CHECK(tls_echo_works(tls_port, certs.ca()));
  // Nothing is left behind in the connection table: the bystander alone.
  CHECK(wait_table_count(bystander, 1) == 1);
}

TEST_CASE("tls: a handshake that stalls is dropped after handshake_timeout") {
  WsdServer server(tls_options("handshake_timeout: 1s\n"));
  REQUIRE_MESSAGE(server.started(), server.log());
  TestCerts certs = certs_of(server);
  WsClient bystander;
  REQUIRE(bystander.open_tls(server.port(), certs.ca(), "/"));

  WsClient silent(5s);
  REQUIRE(silent.connect(server.port()));
  WsClient partial(5s);   // half a ClientHello header, then nothing
  REQUIRE(partial.connect(server.port()));
  REQUIRE(partial.send_raw(std::string("\x16\x03\x01", 3)));
  auto start = std::chrono::steady_clock::now();
  CHECK(silent.wait_eof());
  CHECK(partial.wait_eof());
  auto took = std::chrono::steady_clock::now() - start;
  CHECK(took >= 800ms);
  CHECK(took < 4s);

  // A TLS client that completes the TLS handshake but never sends its HTTP
  // request is dropped as well.
  WsClient mute(5s);
  REQUIRE_MESSAGE(mute.connect_tls(server.port(), certs.ca()), mute.tls_error());
  CHECK(mute.wait_eof());

  // The established connection is not subject to the handshake timeout.
  CHECK(bystander.send_text("alive"));
  CHECK(receive_text(bystander) == "alive");
  CHECK(tls_echo_works(server.port(), certs.ca()));
  CHECK(wait_table_count(bystander, 1) == 1);
}

TEST_CASE("tls: renegotiation is refused and the server goes on") {
  WsdServer server(tls_options());
  REQUIRE_MESSAGE(server.started(), server.log());
  TestCerts certs = certs_of(server);
  WsClient c(3s);
  REQUIRE_MESSAGE(c.connect_tls(server.port(), certs.ca(), {}, {}, TLS1_2_VERSION), c.tls_error());
  REQUIRE(c.tls_version() == "TLSv1.2");
  REQUIRE(c.handshake("/echo").status == 101);
  CHECK_FALSE(c.tls_renegotiate());
  CAPTURE(c.tls_error());
  CHECK(tls_echo_works(server.port(), certs.ca()));
}

TEST_CASE("tls: TLS 1.3 key updates in both directions keep the connection going") {
  WsdServer server(tls_options());
  REQUIRE_MESSAGE(server.started(), server.log());
  TestCerts certs = certs_of(server);
  WsClient c;
  REQUIRE(c.open_tls(server.port(), certs.ca(), "/echo"));
  REQUIRE(c.tls_version() == "TLSv1.3");
  for (int i = 0; i < 5; ++i) {
    CAPTURE(i);
    REQUIRE(c.tls_key_update(i % 2 == 0));   // even rounds: the server must update its keys too
    std::string text = "round " + std::to_string(i) + " " + pattern(50000);
    REQUIRE(c.send_text(text));
    Received r = c.receive();
    REQUIRE_MESSAGE(r.kind == Received::Message, (describe(r) + " " + c.tls_error()));
    CHECK(r.data == text);
  }
}

TEST_CASE("tls: ssl_verify_peer asks for a client certificate signed by ssl_client_cert_file") {
  WsdServer server(tls_options("ssl_verify_peer: true\nssl_client_cert_file: ca.pem\n"));
  REQUIRE_MESSAGE(server.started(), server.log());
  TestCerts certs = certs_of(server);

  WsClient with;
  REQUIRE_MESSAGE(with.connect_tls(server.port(), certs.ca(), certs.client_cert(), certs.client_key()), with.tls_error());
  REQUIRE(with.handshake("/").status == 101);
  ClientInfo info = client_info(with);
  CHECK_MESSAGE(info.tls == 1, info.text);

  // TLS 1.3: the client may finish its side before the server has checked
  // its certificate; the refusal then shows on the first read.
  auto refused = [&](WsClient& c, const std::string& cert, const std::string& key) {
    if (!c.connect_tls(server.port(), certs.ca(), cert, key)) return true;
    return c.handshake("/").status != 101;
  };
  WsClient without(3s);
  CHECK(refused(without, {}, {}));
  WsClient stranger(3s);   // a certificate the CA did not sign
  CHECK(refused(stranger, certs.selfsigned_cert(), certs.selfsigned_key()));

  CHECK(with.send_text("whoami"));
  CHECK(contains(receive_text(with), "id "));
}

TEST_CASE("tls: SIGHUP re-reads the certificate; open connections stay") {
  WsdServer server(tls_options("reactor_num: 3\n"));   // every reactor sees the new one (PROCESS)
  REQUIRE_MESSAGE(server.started(), server.log());
  TestCerts certs = certs_of(server);
  WsClient old;
  REQUIRE_MESSAGE(old.connect_tls(server.port(), certs.ca()), old.tls_error());
  REQUIRE(old.handshake("/echo").status == 101);
  REQUIRE(old.peer_cert_serial() == "1001");

  // A renewed certificate (new serial and subject) moved over the old files.
  REQUIRE(make_signed_cert(server.dir(), "renewed", "/CN=localhost renewed", "3003"));
  replace_file(certs.file("renewed.key"), certs.server_key());
  replace_file(certs.file("renewed.pem"), certs.server_cert());
  REQUIRE(server.signal(SIGHUP));

  std::string serial, subject;
  auto deadline = std::chrono::steady_clock::now() + 5s;
  while (std::chrono::steady_clock::now() < deadline) {
    WsClient fresh;
    if (fresh.connect_tls(server.port(), certs.ca())) {
      serial = fresh.peer_cert_serial();
      subject = fresh.peer_cert_subject();
      if (serial == "3003") {
        REQUIRE(fresh.handshake("/echo").status == 101);
        CHECK(fresh.send_text("new"));
        CHECK(receive_text(fresh) == "new");
        break;
      }
    }
    std::this_thread::sleep_for(50ms);
  }
  CHECK_MESSAGE(serial == "3003", server.log());
  CHECK(contains(subject, "renewed"));
  // Every new connection has it from now on, whichever reactor or worker
  // (BASE mode: each worker accepts for itself, and reloads when the master
  // passes the signal on: a moment later) takes it.
  std::this_thread::sleep_for(300ms);
  for (int i = 0; i < 12; ++i) {
    WsClient fresh;
    REQUIRE_MESSAGE(fresh.connect_tls(server.port(), certs.ca()), fresh.tls_error());
    CHECK(fresh.peer_cert_serial() == "3003");
  }

  // The connection made before the reload goes on, with its certificate.
  CHECK(old.send_text("old"));
  CHECK(receive_text(old) == "old");
  CHECK(old.peer_cert_serial() == "1001");
}

TEST_CASE("tls: SIGHUP with a broken certificate keeps the old one serving") {
  WsdServer server(tls_options());
  REQUIRE_MESSAGE(server.started(), server.log());
  TestCerts certs = certs_of(server);
  WsClient old;
  REQUIRE(old.open_tls(server.port(), certs.ca(), "/echo"));

  SUBCASE("not a certificate") {
    std::ofstream(certs.file("broken.pem")) << "-----BEGIN CERTIFICATE-----\nnot base64 at all\n-----END CERTIFICATE-----\n";
    replace_file(certs.file("broken.pem"), certs.server_cert());
  }
  SUBCASE("a certificate that does not match the key") {
    REQUIRE(make_signed_cert(server.dir(), "other", "/CN=localhost other", "4004"));
    replace_file(certs.file("other.pem"), certs.server_cert());
  }
  SUBCASE("the certificate file removed") {
    std::filesystem::remove(certs.server_cert());
  }
  size_t from = server.log().size();
  REQUIRE(server.signal(SIGHUP));
  // The reason is logged, naming the certificate or key file (wording is the daemon's).
  CHECK_MESSAGE(server.wait_log("/server.", from, 5s), server.log().substr(from));
  std::this_thread::sleep_for(200ms);

  for (int i = 0; i < 3; ++i) {
    WsClient fresh;
    REQUIRE_MESSAGE(fresh.connect_tls(server.port(), certs.ca()), (fresh.tls_error() + "\n" + server.log()));
    CHECK(fresh.peer_cert_serial() == "1001");
    REQUIRE(fresh.handshake("/echo").status == 101);
    CHECK(fresh.send_text("x"));
    CHECK(receive_text(fresh) == "x");
  }
  CHECK(old.send_text("old"));
  CHECK(receive_text(old) == "old");

  // Fixed files and another SIGHUP: the new certificate is taken.
  REQUIRE(make_signed_cert(server.dir(), "fixed", "/CN=localhost fixed", "5005"));
  replace_file(certs.file("fixed.key"), certs.server_key());
  replace_file(certs.file("fixed.pem"), certs.server_cert());
  REQUIRE(server.signal(SIGHUP));
  std::string serial;
  auto deadline = std::chrono::steady_clock::now() + 5s;
  while (serial != "5005" && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(50ms);
    WsClient fresh;
    if (fresh.connect_tls(server.port(), certs.ca())) serial = fresh.peer_cert_serial();
  }
  CHECK_MESSAGE(serial == "5005", server.log());
}

TEST_CASE("tls: many connections, pipelined frames and output the client is slow to read") {
  WsdServer server(tls_options("buffer_output_size: 64M\nreactor_num: 2\n"));
  REQUIRE_MESSAGE(server.started(), server.log());
  TestCerts certs = certs_of(server);

  // A frame in the same TLS write as the upgrade request.
  WsClient early;
  REQUIRE_MESSAGE(early.connect_tls(server.port(), certs.ca()), early.tls_error());
  REQUIRE(early.handshake("/echo", {}, false, WsClient::frame_bytes(1, "early")).status == 101);
  CHECK(receive_text(early) == "early");

  // 40 TLS connections at once.
  std::vector<std::unique_ptr<WsClient>> many;
  for (int i = 0; i < 40; ++i) {
    many.push_back(std::make_unique<WsClient>());
    REQUIRE_MESSAGE(many.back()->open_tls(server.port(), certs.ca(), "/echo"), many.back()->tls_error());
  }
  for (size_t i = 0; i < many.size(); ++i) CHECK(many[i]->send_text("n" + std::to_string(i)));
  for (size_t i = 0; i < many.size(); ++i) CHECK(receive_text(*many[i]) == "n" + std::to_string(i));

  // 8 MB pushed while the client does not read: the server's TLS writes stop
  // on a full socket and resume from a buffer that keeps growing.
  WsClient slow(10s);
  REQUIRE(slow.open_tls(server.port(), certs.ca(), "/"));
  Whoami me = whoami(slow);
  REQUIRE(me.id != 0);
  constexpr int kPushes = 8;
  for (int i = 0; i < kPushes; ++i) REQUIRE(slow.send_text("pushbin " + std::to_string(me.id) + " 1000000"));
  std::this_thread::sleep_for(300ms);
  int binaries = 0, replies = 0;
  for (int i = 0; i < 2 * kPushes; ++i) {
    Received r = slow.receive();
    REQUIRE_MESSAGE(r.kind == Received::Message, describe(r));
    if (r.opcode == 2) {
      CHECK(r.data == std::string(1000000, 'x'));
      ++binaries;
    } else {
      CHECK(r.data == "push 0");
      ++replies;
    }
  }
  CHECK(binaries == kPushes);
  CHECK(replies == kPushes);

  // A close after megabytes still queued: everything arrives first, then the
  // close frame, then close_notify.
  WsClient draining(10s);
  REQUIRE(draining.open_tls(server.port(), certs.ca(), "/"));
  Whoami d = whoami(draining);
  for (int i = 0; i < 4; ++i) REQUIRE(draining.send_text("pushbin " + std::to_string(d.id) + " 1000000"));
  REQUIRE(draining.send_text("disconnect 4001 bye"));
  std::this_thread::sleep_for(300ms);
  Received r;
  for (int i = 0; i < 4; ++i) {
    r = draining.receive();
    REQUIRE_MESSAGE(r.kind == Received::Message, describe(r));
    CHECK(r.data.size() == 1000000);
    CHECK(receive_text(draining) == "push 0");
  }
  r = draining.receive();
  REQUIRE_MESSAGE(r.kind == Received::Close, describe(r));
  CHECK(r.code == 4001);
  draining.send_close(4001);
  CHECK(draining.wait_eof());
  CHECK(draining.got_close_notify());
  CHECK(tls_echo_works(server.port(), certs.ca()));
}

TEST_CASE("tls: ssl_ciphers limits the TLS 1.2 suites") {
  WsdServer server(tls_options("ssl_ciphers: ECDHE-ECDSA-AES128-GCM-SHA256\n"));
  REQUIRE_MESSAGE(server.started(), server.log());
  TestCerts certs = certs_of(server);
  std::string base = "timeout 5 openssl s_client -connect 127.0.0.1:" + std::to_string(server.port()) +
                     " -CAfile " + certs.ca() + " -tls1_2";
  Command ok = run(base + " -cipher ECDHE-ECDSA-AES128-GCM-SHA256 </dev/null");
  CAPTURE(ok.output);
  CHECK(ok.status == 0);
  CHECK(contains(ok.output, "ECDHE-ECDSA-AES128-GCM-SHA256"));
  Command other = run(base + " -cipher ECDHE-ECDSA-CHACHA20-POLY1305 </dev/null");
  CAPTURE(other.output);
  CHECK(other.status != 0);
  CHECK(contains(other.output, "handshake failure"));
  // TLS 1.3 keeps OpenSSL's TLS 1.3 suites.
  Command v13 = run("timeout 5 openssl s_client -connect 127.0.0.1:" + std::to_string(server.port()) + " -CAfile " +
                    certs.ca() + " -tls1_3 </dev/null");
  CHECK(v13.status == 0);
  CHECK(contains(v13.output, "TLSv1.3"));
}

TEST_CASE("tls: close_notify at both ends of a clean close") {
  WsdServer server(tls_options());
  REQUIRE_MESSAGE(server.started(), server.log());
  TestCerts certs = certs_of(server);

  SUBCASE("the client closes: close frame, then close_notify") {
    WsClient c;
    REQUIRE(c.open_tls(server.port(), certs.ca(), "/"));
    Whoami me = whoami(c);
    REQUIRE(me.id != 0);
    REQUIRE(c.send_close(1000, "bye"));
    Received r = c.receive();
    CHECK_MESSAGE(r.kind == Received::Close, describe(r));
    CHECK(r.code == 1000);
    CHECK(c.tls_shutdown());
    CHECK(c.wait_eof());
    CHECK(c.got_close_notify());   // the server ends TLS cleanly too
    std::vector<std::string> closes = close_events(server, me.id);
    REQUIRE(closes.size() == 1);
    CHECK(contains(closes[0], "code=1000 by_server=0"));
  }
  SUBCASE("the client sends close_notify without a close frame") {
    WsClient c;
    REQUIRE(c.open_tls(server.port(), certs.ca(), "/"));
    Whoami me = whoami(c);
    REQUIRE(me.id != 0);
    CHECK(c.tls_shutdown());
    CHECK(c.wait_eof());
    std::vector<std::string> closes = close_events(server, me.id);
    REQUIRE(closes.size() == 1);
    CHECK(contains(closes[0], "code=1006 by_server=0"));
  }
  SUBCASE("the server closes: close frame, then close_notify") {
    WsClient c;
    REQUIRE(c.open_tls(server.port(), certs.ca(), "/"));
    Whoami me = whoami(c);
    REQUIRE(c.send_text("disconnect 4000 done"));
    Received r = c.receive();
    REQUIRE_MESSAGE(r.kind == Received::Close, describe(r));
    CHECK(r.code == 4000);
    CHECK(c.send_close(4000));
    CHECK(c.wait_eof());
    CHECK(c.got_close_notify());
    std::vector<std::string> closes = close_events(server, me.id);
    REQUIRE(closes.size() == 1);
    CHECK(contains(closes[0], "code=4000 by_server=1"));
  }
  CHECK(tls_echo_works(server.port(), certs.ca()));
}

TEST_CASE("tls: SIGTERM closes TLS connections with 1001") {
  WsdServer server(tls_options());
  REQUIRE_MESSAGE(server.started(), server.log());
  TestCerts certs = certs_of(server);
  WsClient c;
  REQUIRE(c.open_tls(server.port(), certs.ca(), "/"));
  Whoami me = whoami(c);
  REQUIRE(me.id != 0);
  REQUIRE(server.signal(SIGTERM));
  Received r = c.receive();
  REQUIRE_MESSAGE(r.kind == Received::Close, describe(r));
  CHECK(r.code == 1001);
  c.send_close(1001);
  CHECK(c.wait_eof());
  CHECK(server.wait_exit(10s) == 0);
  CHECK(close_events(server, me.id).size() == 1);
}
