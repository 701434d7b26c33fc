// The HAProxy PROXY protocol (versions 1 and 2): the header a load balancer
// puts in front of a connection to tell us who the real client is. Spec:
// https://www.haproxy.org/download/1.8/doc/proxy-protocol.txt
//
// Incremental like the rest of core/: bytes may arrive split anywhere, one at
// a time included, and the parser takes exactly the header's bytes. A listener
// configured for the PROXY protocol must require it (spec §2: never guess), so
// anything that is not a valid header is an Error and the connection is closed.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace wsd::core {

// Version 1 lines are at most 107 bytes including CRLF (spec §2.1).
constexpr size_t kProxyV1MaxLine = 107;
// Version 2: 16 fixed bytes, then the length they announce (addresses and
// TLVs). The spec allows 16 + 65535; the largest header HAProxy's own TLV
// options produce (SSL, unique id, authority, ALPN, CRC) is about 600 bytes.
// A header announcing more than the limit is an Error as soon as its length
// field arrives. TLVs are skipped, never stored, so this bounds how long we
// read before the HTTP request, not memory.
constexpr size_t kDefaultProxyV2MaxBytes = 1024;

// What the header says about the connection.
struct ProxyAddress {
  // True for a v2 LOCAL command (the proxy's own health check), a v1
  // UNKNOWN line, and a v2 PROXY command for a family or transport we don't
  // use (UNSPEC, AF_UNIX, datagrams): the spec lets the receiver accept those
  // with the real connection's addresses, so use the socket's own peer.
  bool local = false;
  int family = 0;          // AF_INET or AF_INET6 when !local, else 0
  uint8_t src_addr[16] = {};  // network byte order; 4 bytes used for AF_INET
  uint8_t dst_addr[16] = {};
  uint16_t src_port = 0;   // host byte order
  uint16_t dst_port = 0;

  // The addresses as text ("192.0.2.1", "2001:db8::1"); empty when local.
  std::string src_text() const;
  std::string dst_text() const;
};

class ProxyHeaderParser {
 public:
  enum class State { Incomplete, Done, Error };

  // `max_v2_bytes` bounds a whole version 2 header, fixed part included;
  // below 16 + 36 it refuses IPv6 headers.
  explicit ProxyHeaderParser(size_t max_v2_bytes = kDefaultProxyV2MaxBytes);

  // Feeds bytes; returns how many were consumed. Consumption stops at the
  // header's last byte: what follows is the HTTP request and stays with the
  // caller. While Incomplete, everything given is consumed. After Error the
  // count says nothing useful: close the connection.
  size_t feed(const uint8_t* data, size_t len);

  State state() const;
  // On Error: a short static description for logs (does not depend on how
  // the bytes were split). Empty otherwise.
  std::string_view error() const { return error_; }
  // Valid once Done.
  const ProxyAddress& address() const { return address_; }

 private:
  // Signature: matching "PROXY " (v1) or the 12-byte v2 signature, which one
  // decided by the first byte. V1Line: collecting the line up to CRLF.
  // V2Header: the 4 bytes after the signature (version/command, family,
  // length), each checked as it arrives. V2Address: collecting the address
  // block. V2Skip: TLVs and any unused address bytes.
  enum class Stage : uint8_t { Signature, V1Line, V2Header, V2Address, V2Skip, Done, Error };

  void on_byte(uint8_t byte);
  void on_signature_byte(uint8_t byte);
  void on_v1_byte(uint8_t byte);
  void on_v2_header_byte(uint8_t byte);
  void on_v2_address_byte(uint8_t byte);
  size_t skip(size_t available);
  bool check_v2_length();
  void decode_v2_address();
  bool parse_v1_line(std::string_view line);
  bool fail(std::string_view why);
  void after_v2_fixed();

  size_t max_v2_bytes_;
  Stage stage_ = Stage::Signature;
  uint8_t version_ = 0;      // 1 or 2, decided by the first byte
  bool v2_proxy_ = false;    // v2 command is PROXY (not LOCAL)
  uint8_t v2_family_ = 0;    // high nibble of byte 14
  uint8_t v2_transport_ = 0; // low nibble of byte 14
  size_t held_ = 0;          // bytes of buf_ in use
  size_t address_bytes_ = 0; // v2: size of the address block we decode (0, 12 or 36)
  size_t remaining_ = 0;     // v2: header bytes still to come after the 16 fixed ones
  std::string_view error_;
  ProxyAddress address_;
  // The v1 line without its LF, or the v2 fixed part plus the address block
  // we decode (16 + 36).
  uint8_t buf_[kProxyV1MaxLine];
};

}  // namespace wsd::core
