// Topics and fan-out, the reactor's side: subscriptions of the connections
// it owns, and publish / broadcast to them. A fan-out encodes its frame once
// (and compresses it once) into SharedFrames; each recipient only gets a
// span of those bytes, and the flush after the loop iteration sends from
// there: one send per connection per iteration however many publishes it
// received, no copy and no allocation per recipient unless its socket is
// full (then the unsent rest is copied into its own buffer).
#include "core/frame.h"
#include "daemon/reactor.h"
#include "wsd/plugin.h"

namespace wsd::daemon {

namespace {
constexpr size_t kMaxTopicBytes = 255;
}

// One publish or broadcast on its way to this reactor's recipients. Each
// form of the frame is encoded when a recipient first needs it.
struct Reactor::Fanout {
  uint8_t opcode = 0;
  bool compress = false;        // WSD_FLAG_COMPRESS was asked for (data frames only)
  std::string_view data;
  SharedSpan plain[2];          // the uncompressed frame, per SharedFrames buffer
  SharedSpan packed;            // the compressed frame (kDeflate buffer)
  enum class Packed : uint8_t { NotYet, Ready, Failed } packed_state = Packed::NotYet;
  uint64_t delivered = 0;
  uint64_t refused = 0;

  Fanout(uint16_t aux, std::string_view payload)
      : opcode(static_cast<uint8_t>(aux & 0xFF)),
        compress(((aux >> 8) & WSD_FLAG_COMPRESS) && (opcode == WSD_OPCODE_TEXT || opcode == WSD_OPCODE_BINARY)),
        data(payload) {}
};

void Reactor::on_subscribe(uint64_t id, std::string_view topic, bool add) {
  if (topic.empty() || topic.size() > kMaxTopicBytes) return;  // the worker checked
  Connection* c = find(id);
  if (!c) return;  // it closed since the worker's check
  if (add) {
    if (c->phase != Phase::WebSocket) return;  // closing: it would leave at once
    topics_.subscribe(c, topic);
  } else {
    topics_.unsubscribe(c, topic);
  }
  stats_->topics.set(topics_.size());
}

// The connection ends (destroy): it leaves every topic.
void Reactor::leave_topics(Connection& c) {
  if (topics_.size() == 0) return;
  topics_.remove(&c);
  stats_->topics.set(topics_.size());
}

// The common case (nothing else waits for this connection) only moves the
// end of its span: frames of consecutive fan-outs are adjacent in its
// buffer. Otherwise the bytes are copied behind what waits.
inline void Reactor::queue_shared(Connection& c, SharedSpan s) {
  if ((!c.out || c.out->size() == 0) && (c.shared.empty() || c.shared.end == s.begin)) {
    if (c.shared.empty()) c.shared.begin = s.begin;
    c.shared.end = s.end;
    if (!c.dirty) {
      c.dirty = true;
      dirty_.push_back(&c);
    }
    return;
  }
  queue_output(c, shared_frames_.bytes(c.shared_buffer(), s));
}

// The per-recipient step, kept short: it runs once per subscriber per publish.
inline void Reactor::fan_out_to(Connection& c, Fanout& f) {
  if (c.phase != Phase::WebSocket || c.doomed) return;
  const int which = c.shared_buffer();
  SharedSpan s = f.plain[which];
  // Compressed only for a client that agreed to permessage-deflate with a
  // window at least as large as the shared stream's; the others get the
  // frame uncompressed, which RFC 7692 allows for any message.
  core::Deflater* deflater = c.deflater();
  const bool packed = f.compress && deflater && !packed_frame(f).empty() &&
                      deflater->window_bits() >= shared_deflater_->window_bits();
  if (packed) {
    s = f.packed;
  } else if (s.empty()) {
    s = plain_frame(f, which);   // the first recipient of this buffer encodes it
  }
  if (s.empty() || c.pending_output() + s.size() > settings_.buffer_output_size) {
    // A slow subscriber: refused and counted, the others go on; with
    // buffer_output_close it is closed after the loop.
    ++f.refused;
    if (settings_.buffer_output_close) slow_.push_back(&c);
    return;
  }
  queue_shared(c, s);
  // The client's inflater now holds this message in its window, which our
  // deflater never saw: with context takeover its next message could refer
  // to the wrong bytes. Forgetting the window is always safe for the client.
  if (packed && deflater->context_takeover()) deflater->reset();
  ++f.delivered;
}

void Reactor::publish(std::string_view topic, uint16_t aux, std::string_view data) {
  const std::vector<Connection*>* members = topics_.members(topic);
  if (!members) return;
  Fanout f(aux, data);
  // fan_out_to never changes the table (slow connections are closed after
  // the loop), so the member list stays valid while we walk it.
  for (Connection* c : *members) fan_out_to(*c, f);
  end_fan_out(f);
}

void Reactor::broadcast(uint16_t aux, std::string_view data) {
  Fanout f(aux, data);
  for (Connection* c : connections_) fan_out_to(*c, f);
  end_fan_out(f);
}

void Reactor::end_fan_out(const Fanout& f) {
  // Each delivery is a data frame sent (stats: messages_out), as a push's is.
  if (f.delivered) stats_->messages_out.add(f.delivered);
  if (f.refused) stats_->deliveries_refused.add(f.refused);
  if (slow_.empty()) return;
  // Closing may run a plugin's close event (BASE mode), which may publish
  // again: take the list first.
  std::vector<Connection*> slow;
  slow.swap(slow_);
  for (Connection* c : slow) {
    if (!c->doomed && c->phase == Phase::WebSocket) close_slow(*c);
  }
}

// The frame without compression, in buffer `which`; empty when it does not
// fit (the buffer's offsets are 32 bits).
SharedSpan Reactor::plain_frame(Fanout& f, int which) {
  uint8_t header[core::kMaxFrameHeaderSize];
  size_t n = core::write_frame_header(header, f.opcode, true, false, f.data.size());
  if (!shared_frames_.fits(which, n + f.data.size())) return {};
  f.plain[which] = shared_frames_.append(which, std::string_view(reinterpret_cast<char*>(header), n), f.data);
  return f.plain[which];
}

// The compressed frame (kDeflate buffer), made once per fan-out with a
// fresh deflate stream (no context: any client can inflate it); empty when
// compression failed or it does not fit.
SharedSpan Reactor::packed_frame(Fanout& f) {
  if (f.packed_state == Fanout::Packed::NotYet) {
    f.packed_state = Fanout::Packed::Failed;
    const core::DeflateConfig& dc = settings_.handshake.deflate;
    if (!shared_deflater_) shared_deflater_ = std::make_unique<core::Deflater>(dc.max_window_bits, true, dc.mem_level);
    scratch_.clear();
    uint8_t header[core::kMaxFrameHeaderSize];
    if (shared_deflater_->compress(reinterpret_cast<const uint8_t*>(f.data.data()), f.data.size(), scratch_)) {
      size_t n = core::write_frame_header(header, f.opcode, true, true, scratch_.size());
      if (shared_frames_.fits(SharedFrames::kDeflate, n + scratch_.size())) {
        f.packed = shared_frames_.append(SharedFrames::kDeflate,
                                         std::string_view(reinterpret_cast<char*>(header), n), scratch_);
        f.packed_state = Fanout::Packed::Ready;
      }
    }
  }
  return f.packed_state == Fanout::Packed::Ready ? f.packed : SharedSpan{};
}

void Reactor::take_shared(Connection& c) {
  std::string_view b = shared_frames_.bytes(c.shared_buffer(), c.shared);
  c.shared = {};
  append_out(c, b);
}

// Sends the span straight from the shared buffer (c.out is empty then);
// what the socket does not take is copied into c.out.
bool Reactor::write_shared(Connection& c) {
  std::string_view b = shared_frames_.bytes(c.shared_buffer(), c.shared);
  c.shared = {};
  size_t done = 0;
  while (done < b.size()) {
    size_t n = 0;
    IoStatus st = send_bytes(c, reinterpret_cast<const uint8_t*>(b.data()) + done, b.size() - done, n);
    if (st == IoStatus::Data) {
      stats_->bytes_out.add(n);
      done += n;
      continue;
    }
    if (st == IoStatus::WouldBlock) break;
    c.close_code = WSD_CLOSE_ABNORMAL;
    if (c.tls()) c.extra->tls.reset();
    destroy(c);
    return false;
  }
  if (done < b.size()) append_out(c, b.substr(done));
  return true;
}

}  // namespace wsd::daemon
