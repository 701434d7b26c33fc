#include "cluster/wire.h"

#include <cstring>

namespace wsd::cluster {

namespace {

constexpr char kMagic[4] = {'w', 's', 'd', '1'};

template <typename T>
void put(std::string& out, T v) {
  char b[sizeof(T)];
  for (size_t i = 0; i < sizeof(T); ++i) b[i] = static_cast<char>((static_cast<uint64_t>(v) >> (8 * i)) & 0xFF);
  out.append(b, sizeof(T));
}

template <typename T>
T get(const char* p) {
  uint64_t v = 0;
  for (size_t i = 0; i < sizeof(T); ++i) v |= static_cast<uint64_t>(static_cast<uint8_t>(p[i])) << (8 * i);
  return static_cast<T>(v);
}

}  // namespace

void encode(const WireMessage& m, std::string& out) {
  out.reserve(out.size() + kWireHeaderSize + m.topic.size() + m.data.size());
  out.append(kMagic, sizeof kMagic);
  put<uint8_t>(out, static_cast<uint8_t>(m.type));
  put<uint16_t>(out, m.origin);
  put<uint64_t>(out, m.conn);
  put<uint16_t>(out, m.aux);
  put<uint32_t>(out, m.query);
  put<uint8_t>(out, static_cast<uint8_t>(m.topic.size()));
  put<uint32_t>(out, static_cast<uint32_t>(m.data.size()));
  out.append(m.topic);
  out.append(m.data);
}

std::string encode(const WireMessage& m) {
  std::string out;
  encode(m, out);
  return out;
}

bool decode(std::string_view in, WireMessage& out) {
  if (in.size() < kWireHeaderSize || std::memcmp(in.data(), kMagic, sizeof kMagic) != 0) return false;
  const char* p = in.data() + 4;
  uint8_t type = get<uint8_t>(p);
  if (type < static_cast<uint8_t>(WireType::Push) || type > static_cast<uint8_t>(WireType::Reply)) return false;
  WireMessage m;
  m.type = static_cast<WireType>(type);
  m.origin = get<uint16_t>(p + 1);
  m.conn = get<uint64_t>(p + 3);
  m.aux = get<uint16_t>(p + 11);
  m.query = get<uint32_t>(p + 13);
  size_t topic_len = get<uint8_t>(p + 17);
  size_t data_len = get<uint32_t>(p + 18);
  if (m.origin == 0 || m.origin > kMaxNodeNumber) return false;
  // Exact size: nothing missing, nothing trailing.
  if (in.size() - kWireHeaderSize != topic_len + data_len) return false;
  // A topic belongs to Publish and only there.
  if ((m.type == WireType::Publish) != (topic_len > 0)) return false;
  // Messages about a connection name one; the others name none.
  bool about_conn = m.type == WireType::Push || m.type == WireType::Close || m.type == WireType::Query ||
                    m.type == WireType::Reply;
  if (about_conn != (m.conn != 0)) return false;
  if ((m.type == WireType::Query || m.type == WireType::Reply) && data_len != 0) return false;
  m.topic = in.substr(kWireHeaderSize, topic_len);
  m.data = in.substr(kWireHeaderSize + topic_len, data_len);
  out = m;
  return true;
}

}  // namespace wsd::cluster
