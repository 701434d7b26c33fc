// The manual's onRequest example: `GET /?message=hi` pushes the message to
// every established WebSocket connection, whichever worker serves it.
#include <string>

#include "wsd/plugin.hpp"

struct Broadcast {
  void on_open(wsd::Server& s, const wsd::Request& req) {
    s.info("server: handshake success with fd" + std::to_string(req.conn()));
  }

  void on_message(wsd::Server& s, const wsd::Frame& f) {
    if (f.opcode == wsd::kText || f.opcode == wsd::kBinary) s.push(f.conn, "this is server");
  }

  void on_request(wsd::Server& s, const wsd::Request& req, wsd::Response& resp) {
    std::optional<std::string> message = req.query("message");
    if (!message) {
      resp.status(400).header("Content-Type", "text/plain").end("usage: GET /?message=TEXT\n");
      return;
    }
    int sent = 0;
    for (wsd_conn_t conn : s.connections()) {
      // Check first, as the manual does: a connection may close meanwhile.
      if (s.is_established(conn) && s.push(conn, *message) == WSD_OK) ++sent;
    }
    resp.status(200).header("Content-Type", "text/plain").end("pushed to " + std::to_string(sent) + "\n");
  }

  void on_close(wsd::Server& s, const wsd::CloseInfo& c) { s.info("client " + std::to_string(c.conn) + " closed"); }
};

WSD_PLUGIN(Broadcast, "broadcast")
