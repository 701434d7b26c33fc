#include "daemon/request_codec.h"

#include "ipc/codec.h"

namespace wsd::daemon {

namespace {
wsd_str view(std::string_view s) { return wsd_str{s.data(), s.size()}; }
}  // namespace

void encode_request(const core::HttpRequest& req, const PeerInfo& peer, std::string& out) {
  ipc::PayloadWriter w(out);
  w.str(req.method);
  w.str(req.target);
  w.str(req.path);
  w.str(req.query);
  w.u32(static_cast<uint32_t>(req.headers.size()));
  for (const core::HttpHeader& h : req.headers) {
    w.str(h.name);
    w.str(h.value);
  }
  w.str(req.body);
  w.str(peer.remote_ip);
  w.u16(peer.remote_port);
  w.u16(peer.server_port);
  w.str(peer.peer_ip);
  w.u16(peer.peer_port);
}

bool decode_request(std::string_view payload, uint64_t conn, RequestView& out) {
  ipc::PayloadReader r(payload.data(), payload.size());
  wsd_request& q = out.req;
  q = wsd_request{};
  q.conn = conn;
  q.method = view(r.str());
  q.target = view(r.str());
  q.path = view(r.str());
  q.query = view(r.str());
  uint32_t n = r.u32();
  if (!r.ok() || n > payload.size() / 8) return false;
  out.headers.resize(n);
  for (wsd_header& h : out.headers) {
    h.name = view(r.str());
    h.value = view(r.str());
  }
  q.headers = out.headers.data();
  q.header_count = n;
  q.body = view(r.str());
  q.remote_addr = view(r.str());
  q.remote_port = r.u16();
  q.server_port = r.u16();
  q.peer_addr = view(r.str());
  q.peer_port = r.u16();
  return r.ok();
}

void encode_answer(const HttpAnswer& a, std::string& out) {
  ipc::PayloadWriter w(out);
  w.u16(static_cast<uint16_t>(a.status));
  w.u8(a.ended ? 1 : 0);
  w.u8(a.keep_alive ? 1 : 0);
  w.u32(static_cast<uint32_t>(a.headers.size()));
  for (const core::HttpHeader& h : a.headers) {
    w.str(h.name);
    w.str(h.value);
  }
  w.str(a.body);
}

bool decode_answer(std::string_view payload, HttpAnswer& a) {
  ipc::PayloadReader r(payload.data(), payload.size());
  a.status = r.u16();
  a.ended = r.u8() != 0;
  a.keep_alive = r.u8() != 0;
  uint32_t n = r.u32();
  if (!r.ok() || n > payload.size() / 8) return false;
  a.headers.resize(n);
  for (core::HttpHeader& h : a.headers) {
    h.name = std::string(r.str());
    h.value = std::string(r.str());
  }
  a.body = std::string(r.str());
  return r.ok();
}

}  // namespace wsd::daemon
