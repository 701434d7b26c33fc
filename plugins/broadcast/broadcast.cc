// The manual's onRequest example, on wsd's topics: `GET /?message=hi` sends
// the message to every established WebSocket connection, whichever worker
// serves it, and `GET /?topic=news&message=hi` to the connections that
// subscribed to "news" (they connect with `ws://host/?topic=news`). The
// server encodes the frame once and shares it with every recipient.
//
// Config (the plugin's `config:` subtree):
//   relay: true   a client's text or binary message is broadcast to every
//                 connection (a chat room; wsd-loadgen's broadcast mode with
//                 its publisher on a WebSocket). Default: the manual's fixed
//                 reply "this is server".
//
// In BASE mode a broadcast or publish reaches the connections of the worker
// process that makes it (one worker: all of them).
#include <string>

#include "wsd/plugin.hpp"

struct Broadcast {
  bool relay = false;

  void on_worker_start(wsd::Server& s) { relay = s.config("relay") == "true"; }

  void on_open(wsd::Server& s, const wsd::Request& req) {
    s.info("server: handshake success with fd" + std::to_string(req.conn()));
    if (std::optional<std::string> topic = req.query("topic")) {
      int rc = s.subscribe(req.conn(), *topic);
      if (rc != WSD_OK) s.log(WSD_LOG_WARN, "subscribe to '" + *topic + "' failed: " + std::to_string(rc));
    }
  }

  void on_message(wsd::Server& s, const wsd::Frame& f) {
    if (f.opcode != wsd::kText && f.opcode != wsd::kBinary) return;
    if (relay) {
      s.broadcast(f.data, f.opcode);
    } else {
      s.push(f.conn, "this is server");
    }
  }

  void on_request(wsd::Server& s, const wsd::Request& req, wsd::Response& resp) {
    std::optional<std::string> message = req.query("message");
    if (!message) {
      resp.status(400).header("Content-Type", "text/plain").end("usage: GET /?message=TEXT[&topic=NAME]\n");
      return;
    }
    std::optional<std::string> topic = req.query("topic");
    int rc = topic ? s.publish(*topic, *message) : s.broadcast(*message);
    if (rc != WSD_OK) {
      resp.status(rc == WSD_ERR_BUFFER_FULL ? 503 : 400).header("Content-Type", "text/plain")
          .end("refused: " + std::to_string(rc) + "\n");
      return;
    }
    resp.status(200).header("Content-Type", "text/plain").end(topic ? "published\n" : "broadcast\n");
  }

  void on_close(wsd::Server& s, const wsd::CloseInfo& c) { s.info("client " + std::to_string(c.conn) + " closed"); }
};

WSD_PLUGIN(Broadcast, "broadcast")
