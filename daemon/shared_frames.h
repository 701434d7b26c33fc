// The frames a reactor fans out during one loop iteration (publish,
// broadcast), each encoded once and shared by every recipient: a connection
// refers to a span of these bytes instead of copying them, and the flush
// after the iteration sends straight from here. Spans live only until that
// flush (reset() follows it); what a socket did not take is copied into the
// connection's own buffer then.
//
// Two buffers: one for connections without permessage-deflate and one for
// those with it (a compressed publish has its compressed frame only there).
// A connection reads from one of them all its life, so the frames of
// consecutive publishes it receives are adjacent and its span just grows:
// ten publishes in one iteration leave in one send.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace wsd::daemon {

// Offsets into a SharedFrames buffer; empty when begin == end.
struct SharedSpan {
  uint32_t begin = 0;
  uint32_t end = 0;
  bool empty() const { return begin == end; }
  uint32_t size() const { return end - begin; }
};

class SharedFrames {
 public:
  static constexpr int kPlain = 0;      // connections without permessage-deflate
  static constexpr int kDeflate = 1;    // connections with it

  // True when `bytes` more keep every offset of buffer `which` in 32 bits.
  bool fits(int which, size_t bytes) const { return buf_[which].size() + bytes <= UINT32_MAX; }
  // Appends one frame (header, then payload); its span.
  SharedSpan append(int which, std::string_view header, std::string_view payload) {
    std::string& b = buf_[which];
    auto begin = static_cast<uint32_t>(b.size());
    b.append(header.data(), header.size());
    b.append(payload.data(), payload.size());
    return {begin, static_cast<uint32_t>(b.size())};
  }
  std::string_view bytes(int which, SharedSpan s) const {
    return std::string_view(buf_[which]).substr(s.begin, s.size());
  }
  // After the flush: no span refers to the buffers any more. The capacity
  // stays for the next iteration, unless a large publish grew it.
  void reset() {
    for (std::string& b : buf_) {
      if (b.capacity() > kKeepCapacity) {
        std::string().swap(b);
      } else {
        b.clear();
      }
    }
  }

 private:
  static constexpr size_t kKeepCapacity = 256 * 1024;
  std::string buf_[2];
};

}  // namespace wsd::daemon
