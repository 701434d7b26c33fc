// Tests of core/frame.cc: header encoding, close payloads, pack/pack_close,
// and unpack on the RFC 6455 §5.7 examples and malformed frames.
#include "core/frame.h"

#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "core/permessage_deflate.h"

using wsd::core::close_payload;
using wsd::core::Deflater;
using wsd::core::frame_header_size;
using wsd::core::Inflater;
using wsd::core::kFlagCompress;
using wsd::core::kFlagFin;
using wsd::core::Opcode;
using wsd::core::pack;
using wsd::core::pack_close;
using wsd::core::unpack;
using wsd::core::UnpackedFrame;
using wsd::core::write_frame_header;

namespace {

const uint8_t kKey[4] = {0x37, 0xfa, 0x21, 0x3d};  // RFC 6455 §5.7

std::string bytes(std::initializer_list<int> list) {
  std::string s;
  for (int b : list) s.push_back(static_cast<char>(b));
  return s;
}

std::string repeat(const std::string& s, size_t n) {
  std::string out;
  for (size_t i = 0; i < n; ++i) out += s;
  return out;
}

std::string header(uint8_t opcode, bool fin, bool rsv1, uint64_t len, const uint8_t* mask) {
  uint8_t out[wsd::core::kMaxFrameHeaderSize];
  const size_t n = write_frame_header(out, opcode, fin, rsv1, len, mask);
  CHECK(n == frame_header_size(len, mask != nullptr));
  return std::string(reinterpret_cast<char*>(out), n);
}

constexpr uint8_t kText = static_cast<uint8_t>(Opcode::Text);
constexpr uint8_t kBinary = static_cast<uint8_t>(Opcode::Binary);
constexpr uint8_t kClose = static_cast<uint8_t>(Opcode::Close);
constexpr uint8_t kPing = static_cast<uint8_t>(Opcode::Ping);
constexpr uint8_t kPong = static_cast<uint8_t>(Opcode::Pong);

// The RFC 6455 §5.7 examples (the 256-byte and 64 KiB ones with their payload).
const std::string kHello = bytes({0x81, 0x05, 'H', 'e', 'l', 'l', 'o'});
const std::string kMaskedHello =
    bytes({0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58});
const std::string kHel = bytes({0x01, 0x03, 'H', 'e', 'l'});
const std::string kLo = bytes({0x80, 0x02, 'l', 'o'});
const std::string kPingHello = bytes({0x89, 0x05, 'H', 'e', 'l', 'l', 'o'});
const std::string kMaskedPongHello =
    bytes({0x8a, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58});
const std::string kBinary256 = bytes({0x82, 0x7E, 0x01, 0x00}) + std::string(256, '\x5a');
const std::string kBinary64k =
    bytes({0x82, 0x7F, 0, 0, 0, 0, 0, 0x01, 0, 0}) + std::string(65536, '\xa5');

}  // namespace

TEST_CASE("write_frame_header: RFC 6455 §5.7 headers and length boundaries") {
  CHECK(header(kText, true, false, 5, nullptr) == bytes({0x81, 0x05}));
  CHECK(header(kText, true, false, 5, kKey) == bytes({0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d}));
  CHECK(header(kText, false, false, 3, nullptr) == bytes({0x01, 0x03}));
  CHECK(header(0, true, false, 2, nullptr) == bytes({0x80, 0x02}));
  CHECK(header(kPing, true, false, 5, nullptr) == bytes({0x89, 0x05}));
  CHECK(header(kPong, true, false, 5, kKey) == bytes({0x8a, 0x85, 0x37, 0xfa, 0x21, 0x3d}));
  CHECK(header(kBinary, true, false, 256, nullptr) == bytes({0x82, 0x7E, 0x01, 0x00}));
  CHECK(header(kBinary, true, false, 65536, nullptr) ==
        bytes({0x82, 0x7F, 0, 0, 0, 0, 0, 0x01, 0, 0}));

  const struct {
    uint64_t len;
    std::string second_on;  // byte 1 onwards, unmasked
  } kLengths[] = {
      {0, bytes({0x00})},
      {125, bytes({0x7d})},
      {126, bytes({0x7e, 0x00, 0x7e})},
      {65535, bytes({0x7e, 0xff, 0xff})},
      {65536, bytes({0x7f, 0, 0, 0, 0, 0, 0x01, 0x00, 0x00})},
      {0x0123456789abcdefull, bytes({0x7f, 0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef})},
  };
  for (const auto& l : kLengths) {
    CAPTURE(l.len);
    CHECK(header(kBinary, true, false, l.len, nullptr) == "\x82" + l.second_on);
    std::string masked = l.second_on;
    masked[0] = static_cast<char>(masked[0] | 0x80);
    CHECK(header(kBinary, true, false, l.len, kKey) ==
          "\x82" + masked + bytes({0x37, 0xfa, 0x21, 0x3d}));
  }
  CHECK(header(kText, true, true, 1, nullptr) == bytes({0xc1, 0x01}));   // RSV1
  CHECK(header(kText, false, true, 1, nullptr) == bytes({0x41, 0x01}));
}

TEST_CASE("close_payload: code in network order, reason cut to 123 bytes at a UTF-8 boundary") {
  CHECK(close_payload(1000, "") == bytes({0x03, 0xe8}));
  CHECK(close_payload(4001, "bye") == bytes({0x0f, 0xa1, 'b', 'y', 'e'}));
  const struct {
    const char* name;
    std::string reason;
    size_t kept;
  } kCuts[] = {
      {"123 ASCII fit", std::string(123, 'a'), 123},
      {"124 ASCII cut", std::string(124, 'a'), 123},
      {"2-byte char straddling 123", std::string(122, 'a') + "\xc3\xa9", 122},
      {"2-byte char ending at 123", std::string(121, 'a') + "\xc3\xa9" + "z", 123},
      {"41 of 42 3-byte chars fit", repeat("\xe2\x82\xac", 42), 123},
      {"30 of 40 4-byte chars fit", repeat("\xf0\x9f\x98\x80", 40), 120},
  };
  for (const auto& c : kCuts) {
    CAPTURE(c.name);
    const std::string p = close_payload(1001, c.reason);
    CHECK(p.size() == 2 + c.kept);
    CHECK(p.substr(2) == c.reason.substr(0, c.kept));
  }
}

TEST_CASE("pack and pack_close") {
  CHECK(pack("Hello") == kHello);
  CHECK(pack("Hel", kText, 0) == kHel);
  CHECK(pack("lo", 0, kFlagFin) == kLo);
  CHECK(pack("Hello", kPing) == kPingHello);
  CHECK(pack(std::string(256, '\x5a'), kBinary) == kBinary256);
  CHECK(pack(std::string(65536, '\xa5'), kBinary) == kBinary64k);
  CHECK(pack("Hello", kText, kFlagFin | kFlagCompress) == kHello);  // no deflater: ignored
  CHECK(pack_close(1000, "bye") == bytes({0x88, 0x05, 0x03, 0xe8, 'b', 'y', 'e'}));
  CHECK(pack_close(1000, std::string(200, 'x')).size() == 2 + 125);
}

TEST_CASE("pack with a Deflater: compressed payload, RSV1 set, inflates back") {
  Deflater deflater(15, false, 8);
  const std::string text(1000, 'a');
  const std::string frame = pack(text, kText, kFlagFin | kFlagCompress, &deflater);
  CHECK(static_cast<uint8_t>(frame[0]) == 0xc1);  // FIN, RSV1, Text
  const auto f = unpack(frame);
  REQUIRE(f);
  CHECK(f->flags == (kFlagFin | kFlagCompress));
  CHECK(f->data.size() < text.size());
  Inflater inflater(15, false);
  std::vector<uint8_t> out;
  const auto* p = reinterpret_cast<const uint8_t*>(f->data.data());
  CHECK(inflater.inflate(p, f->data.size(), out, 1 << 20) == Inflater::Result::Ok);
  CHECK(inflater.finish(out, 1 << 20) == Inflater::Result::Ok);
  CHECK(std::string(out.begin(), out.end()) == text);
  // Control frames are never compressed.
  CHECK(pack("ping", kPing, kFlagFin | kFlagCompress, &deflater) == pack("ping", kPing));
}

TEST_CASE("unpack: RFC 6455 §5.7 examples") {
  const struct {
    const char* name;
    std::string frame;
    uint8_t opcode;
    uint8_t flags;
    std::string data;
  } kExamples[] = {
      {"unmasked Hello", kHello, kText, kFlagFin, "Hello"},
      {"masked Hello", kMaskedHello, kText, kFlagFin, "Hello"},
      {"fragment Hel", kHel, kText, 0, "Hel"},
      {"fragment lo", kLo, 0, kFlagFin, "lo"},
      {"unmasked ping", kPingHello, kPing, kFlagFin, "Hello"},
      {"masked pong", kMaskedPongHello, kPong, kFlagFin, "Hello"},
      {"256-byte binary", kBinary256, kBinary, kFlagFin, std::string(256, '\x5a')},
      {"64 KiB binary", kBinary64k, kBinary, kFlagFin, std::string(65536, '\xa5')},
      {"RSV1 data frame", bytes({0xc1, 0x01, 'x'}), kText, kFlagFin | kFlagCompress, "x"},
  };
  for (const auto& e : kExamples) {
    CAPTURE(e.name);
    const auto f = unpack(e.frame + "trailing");
    REQUIRE(f);
    CHECK(f->opcode == e.opcode);
    CHECK(f->flags == e.flags);
    CHECK(f->data == e.data);
    CHECK(f->frame_size == e.frame.size());
    // Every strict prefix is incomplete.
    for (size_t n = 0; n < e.frame.size(); n += 1 + n / 8) {
      CHECK_FALSE(unpack(std::string_view(e.frame).substr(0, n)));
    }
  }
}

TEST_CASE("unpack: close frames") {
  auto f = unpack(pack_close(1001, "bye"));
  REQUIRE(f);
  CHECK(f->opcode == kClose);
  CHECK(f->code == 1001);
  CHECK(f->reason == "bye");
  f = unpack(bytes({0x88, 0x00}));
  REQUIRE(f);
  CHECK(f->code == 1005);
  CHECK(f->reason.empty());
  f = unpack(bytes({0x88, 0x82, 1, 2, 3, 4, 0x03 ^ 1, 0xe8 ^ 2}));  // masked
  REQUIRE(f);
  CHECK(f->code == 1000);
}

TEST_CASE("unpack: malformed frames") {
  const struct {
    const char* name;
    std::string frame;
  } kMalformed[] = {
      {"64-bit length with the top bit set",
       bytes({0x82, 0x7F, 0x80, 0, 0, 0, 0, 0, 0, 1}) + "x"},
      {"control frame over 125", bytes({0x89, 0x7E, 0x00, 0x7E}) + std::string(126, 'p')},
      {"ping not FIN", bytes({0x09, 0x01, 'p'})},
      {"RSV1 on a control frame", bytes({0xc9, 0x01, 'p'})},
      {"RSV2", bytes({0xa1, 0x01, 'x'})},
      {"RSV3", bytes({0x91, 0x01, 'x'})},
      {"opcode 3", bytes({0x83, 0x01, 'x'})},
      {"opcode 7", bytes({0x87, 0x00})},
      {"opcode B", bytes({0x8b, 0x00})},
      {"opcode F", bytes({0x8f, 0x00})},
      {"close with one byte", bytes({0x88, 0x01, 0x03})},
      {"close with code 1005", bytes({0x88, 0x02, 0x03, 0xed})},
      {"close with bad UTF-8", bytes({0x88, 0x03, 0x03, 0xe8, 0xff})},
      {"length past the end", bytes({0x81, 0x05, 'H', 'e'})},
  };
  for (const auto& m : kMalformed) {
    CAPTURE(m.name);
    CHECK_FALSE(unpack(m.frame));
  }
}

TEST_CASE("unpack(pack(x)) round trip at the length boundaries") {
  for (size_t n : {0u, 1u, 125u, 126u, 127u, 65535u, 65536u, 70000u}) {
    CAPTURE(n);
    std::string data(n, '\0');
    for (size_t i = 0; i < n; ++i) data[i] = static_cast<char>(i * 7);
    const std::string frame = pack(data, kBinary);
    const auto f = unpack(frame);
    REQUIRE(f);
    CHECK(f->data == data);
    CHECK(f->frame_size == frame.size());
  }
}
