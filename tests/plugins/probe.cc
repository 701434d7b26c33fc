// A plugin for the integration tests: it records every event in a file
// (config: events_file) and obeys commands sent as text messages, so that a
// test can drive each method of the API from a client and observe the events.
//
// The open event line: "open <id> path=... query=... cookie=... ua=... remote=<ip>
// remote_port=<port> peer=<tcp peer ip> peer_port=<port>".
//
// Commands (text messages; anything else is echoed back with its opcode):
//   whoami                 -> "id <conn> worker <w>"
//   push <id> <text>       -> push text to another connection; reply "push <rc>"
//   pushbin <id> <n>       -> push n bytes of binary; reply "push <rc>"
//   disconnect <code> [reason] -> disconnect this connection; reply "disconnect <rc>" only on failure
//   close                  -> close this connection without a close frame
//   exist <id>             -> "exist <0|1> established <0|1>"
//   info                   -> "info <ip> <port> <server_port> <status> <reactor> <worker> <tls 0|1> <peer_ip> <peer_port>"
//                             (ip/port: the real client, after a PROXY header or X-Forwarded-For; peer: the TCP peer)
//   count                  -> "count <n>" established connections
//   countall               -> "countall <n>" every connection in the table (handshakes, plain HTTP too)
//   after <ms>             -> later: "timer <ms>"
//   tick <ms> <n>          -> "tick <i>" n times, then clears the timer
//   defer                  -> "deferred" (after the reply "deferring")
//   config <key>           -> "config <value>"
//   sleep <ms>             -> blocks this worker for ms (a worker falling behind), then "slept"
//   crash                  -> the worker dies of SIGSEGV (a plugin bug)
//   pushcompress <text>    -> push text with WSD_FLAG_COMPRESS; reply "push <rc>"
//   sub <topic> [id]       -> subscribe this connection (or id) to topic; reply "sub <rc>"
//                             ("-" as the topic: the empty topic; "long": a 256-byte one)
//   unsub <topic> [id]     -> unsubscribe; reply "unsub <rc>"
//   pub <topic> <text>     -> publish text to topic; reply "pub <rc>"
//   pubc <topic> <text>    -> the same with WSD_FLAG_COMPRESS
//   pubbin <topic> <n>     -> publish n bytes of binary; reply "pub <rc>"
//   pubop <op> <topic> <n> -> publish n bytes with opcode op; reply "pub <rc>"
//   bcast <text>           -> broadcast text; reply "bcast <rc>"
//   bcastc <text>          -> the same with WSD_FLAG_COMPRESS
//   bcastop <op> <n>       -> broadcast n bytes with opcode op; reply "bcast <rc>"
//   nodes                  -> "nodes <this node's number> <live node numbers...> conns <cluster connections>"
//   kick <id> <code>       -> disconnect another connection (any node); reply "kick <rc>"
//
// Built a second time as probe_hs.so (PROBE_CUSTOM_HANDSHAKE) with a custom
// handshake handler: it records "handshake <id>", refuses with the status in
// the query's `refuse` parameter, else answers 101 itself and defers the push
// "welcome <id>" (open does not run after a custom handshake).
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <chrono>

#include "wsd/plugin.hpp"

#ifdef PROBE_CUSTOM_HANDSHAKE
#include <openssl/evp.h>
#include <openssl/sha.h>
#endif

namespace {

struct Probe {
  std::string events_file;
  std::map<uint64_t, std::pair<uint64_t, int>> ticks;   // timer id -> (conn, remaining)
  std::function<void(uint64_t)> tick_fn;

  void record(wsd::Server& s, const std::string& line) {
    if (events_file.empty()) return;
    if (FILE* f = std::fopen(events_file.c_str(), "a")) {
      std::fprintf(f, "%s worker=%d\n", line.c_str(), s.worker_id());
      std::fclose(f);
    }
  }

  void on_worker_start(wsd::Server& s) {
    events_file = s.config("events_file");
    record(s, "worker_start");
  }
  void on_worker_stop(wsd::Server& s) { record(s, "worker_stop"); }

  void on_open(wsd::Server& s, const wsd::Request& req) {
    record(s, "open " + std::to_string(req.conn()) + " path=" + std::string(req.path()) +
                  " query=" + std::string(req.query_string()) + " cookie=" + std::string(req.cookie("session")) +
                  " ua=" + std::string(req.header("User-Agent")) + " remote=" + std::string(req.remote_addr()) +
                  " remote_port=" + std::to_string(req.remote_port()) + " peer=" + peer_addr(req) +
                  " peer_port=" + std::to_string(req.raw()->peer_port));
    if (req.query("greet")) s.push(req.conn(), "welcome " + std::to_string(req.conn()));
  }

  static std::string peer_addr(const wsd::Request& req) {
    const wsd_str& p = req.raw()->peer_addr;
    return p.data != nullptr ? std::string(p.data, p.len) : std::string();
  }

  void on_close(wsd::Server& s, const wsd::CloseInfo& c) {
    record(s, "close " + std::to_string(c.conn) + " code=" + std::to_string(c.code) +
                  " by_server=" + std::to_string(c.by_server ? 1 : 0) + " reason=" + std::string(c.reason));
  }

  void on_request(wsd::Server& s, const wsd::Request& req, wsd::Response& resp) {
    record(s, "request " + std::string(req.method()) + " " + std::string(req.target()));
    std::string body = "path=" + std::string(req.path());
    if (auto m = req.query("message")) body += " message=" + *m;
    resp.status(200).header("Content-Type", "text/plain").header("X-Probe", "1").end(body);
  }

  void on_disconnect(wsd::Server& s, wsd_conn_t conn) { record(s, "disconnect " + std::to_string(conn)); }

#ifdef PROBE_CUSTOM_HANDSHAKE
  void on_handshake(wsd::Server& s, const wsd::Request& req, wsd::Response& resp) {
    record(s, "handshake " + std::to_string(req.conn()) + " path=" + std::string(req.path()));
    if (auto refuse = req.query("refuse")) {
      resp.status(std::atoi(refuse->c_str())).header("X-Refused", "yes").end("refused");
      return;
    }
    static const char guid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
    std::string key = std::string(req.header("Sec-WebSocket-Key")) + guid;
    unsigned char digest[SHA_DIGEST_LENGTH];
    SHA1(reinterpret_cast<const unsigned char*>(key.data()), key.size(), digest);
    char accept[29];
    EVP_EncodeBlock(reinterpret_cast<unsigned char*>(accept), digest, SHA_DIGEST_LENGTH);
    resp.status(101)
        .header("Upgrade", "websocket")
        .header("Connection", "Upgrade")
        .header("Sec-WebSocket-Accept", accept)
        .header("X-Custom", "1")
        .end();
    wsd_conn_t conn = req.conn();
    wsd::Server srv = s;
    s.defer([srv, conn]() mutable { srv.push(conn, "welcome " + std::to_string(conn)); });
  }
#endif

  void on_message(wsd::Server& s, const wsd::Frame& f) {
    if (f.opcode == wsd::kClose) {
      record(s, "close_frame " + std::to_string(f.conn) + " code=" + std::to_string(f.code) +
                    " reason=" + std::string(f.reason));
      return;
    }
    if (f.opcode == wsd::kPing || f.opcode == wsd::kPong) {
      record(s, std::string(f.opcode == wsd::kPing ? "ping " : "pong ") + std::to_string(f.conn) + " data=" +
                    std::string(f.data));
      if (f.opcode == wsd::kPing) s.push(f.conn, f.data, wsd::kPong);
      return;
    }
    if (f.opcode != wsd::kText || !command(s, f)) s.push(f.conn, f.data, f.opcode);
  }

  static std::string rest_of(std::istringstream& in) {
    std::string rest;
    std::getline(in, rest);
    if (!rest.empty() && rest[0] == ' ') rest.erase(0, 1);
    return rest;
  }

  static std::string topic_arg(std::istringstream& in) {
    std::string topic;
    in >> topic;
    if (topic == "-") return {};
    if (topic == "long") return std::string(256, 't');
    return topic;
  }

  bool topic_command(wsd::Server& s, const wsd::Frame& f, const std::string& cmd, std::istringstream& in) {
    if (cmd == "sub" || cmd == "unsub") {
      std::string topic = topic_arg(in);
      uint64_t id = f.conn;
      if (uint64_t other = 0; in >> other) id = other;   // a failed read would write 0
      int rc = cmd == "sub" ? s.subscribe(id, topic) : s.unsubscribe(id, topic);
      s.push(f.conn, cmd + " " + std::to_string(rc));
    } else if (cmd == "pub" || cmd == "pubc") {
      std::string topic = topic_arg(in);
      int flags = WSD_FLAG_FIN | (cmd == "pubc" ? WSD_FLAG_COMPRESS : 0);
      int rc = s.publish(topic, rest_of(in), wsd::kText, flags);
      s.push(f.conn, "pub " + std::to_string(rc));
    } else if (cmd == "pubbin" || cmd == "pubop") {
      int op = wsd::kBinary;
      if (cmd == "pubop") in >> op;
      std::string topic = topic_arg(in);
      size_t n = 0;
      in >> n;
      int rc = s.publish(topic, std::string(n, 'x'), op);
      s.push(f.conn, "pub " + std::to_string(rc));
    } else if (cmd == "bcast" || cmd == "bcastc") {
      int flags = WSD_FLAG_FIN | (cmd == "bcastc" ? WSD_FLAG_COMPRESS : 0);
      int rc = s.broadcast(rest_of(in), wsd::kText, flags);
      s.push(f.conn, "bcast " + std::to_string(rc));
    } else if (cmd == "bcastop") {
      int op = 0;
      size_t n = 0;
      in >> op >> n;
      int rc = s.broadcast(std::string(n, 'x'), op);
      s.push(f.conn, "bcast " + std::to_string(rc));
    } else {
      return false;
    }
    return true;
  }

  bool command(wsd::Server& s, const wsd::Frame& f) {
    std::istringstream in{std::string(f.data)};
    std::string cmd;
    in >> cmd;
    if (cmd == "whoami") {
      s.push(f.conn, "id " + std::to_string(f.conn) + " worker " + std::to_string(s.worker_id()));
    } else if (cmd == "push" || cmd == "pushbin") {
      uint64_t id = 0;
      in >> id;
      std::string rest;
      if (cmd == "push") {
        std::getline(in, rest);
        if (!rest.empty() && rest[0] == ' ') rest.erase(0, 1);
      } else {
        size_t n = 0;
        in >> n;
        rest.assign(n, 'x');
      }
      int rc = s.push(id, rest, cmd == "push" ? wsd::kText : wsd::kBinary);
      s.push(f.conn, "push " + std::to_string(rc));
    } else if (cmd == "pushcompress") {
      std::string rest;
      std::getline(in, rest);
      if (!rest.empty() && rest[0] == ' ') rest.erase(0, 1);
      int rc = s.push(f.conn, rest, wsd::kText, WSD_FLAG_FIN | WSD_FLAG_COMPRESS);
      s.push(f.conn, "push " + std::to_string(rc));
    } else if (topic_command(s, f, cmd, in)) {
    } else if (cmd == "disconnect") {
      int code = 1000;
      in >> code;
      std::string reason;
      std::getline(in, reason);
      if (!reason.empty() && reason[0] == ' ') reason.erase(0, 1);
      int rc = s.disconnect(f.conn, code, reason);
      if (rc != WSD_OK) s.push(f.conn, "disconnect " + std::to_string(rc));
    } else if (cmd == "close") {
      s.close(f.conn);
    } else if (cmd == "exist") {
      uint64_t id = 0;
      in >> id;
      s.push(f.conn, "exist " + std::to_string(s.exist(id) ? 1 : 0) + " established " +
                         std::to_string(s.is_established(id) ? 1 : 0));
    } else if (cmd == "info") {
      auto info = s.get_client_info(f.conn);
      if (!info) {
        s.push(f.conn, "info none");
      } else {
        s.push(f.conn, "info " + std::string(info->remote_ip) + " " + std::to_string(info->remote_port) + " " +
                           std::to_string(info->server_port) + " " + std::to_string(info->websocket_status) + " " +
                           std::to_string(info->reactor_id) + " " + std::to_string(info->worker_id) + " " +
                           std::to_string(info->tls) + " " + std::string(info->peer_ip) + " " +
                           std::to_string(info->peer_port));
      }
    } else if (cmd == "count") {
      s.push(f.conn, "count " + std::to_string(s.connections().size()));
    } else if (cmd == "stats") {
      wsd_stats st = s.stats();
      s.push(f.conn, "stats connections=" + std::to_string(st.connection_num) +
                         " accepted=" + std::to_string(st.accept_count) + " closed=" + std::to_string(st.close_count) +
                         " refused=" + std::to_string(st.refused_count) +
                         " handshake_failures=" + std::to_string(st.handshake_failures) +
                         " requests=" + std::to_string(st.request_count) + " in=" + std::to_string(st.messages_in) +
                         " out=" + std::to_string(st.messages_out) + " workers=" + std::to_string(st.worker_num) +
                         " restarts=" + std::to_string(st.worker_restarts));
    } else if (cmd == "wstats") {
      int w = -1;
      in >> w;
      auto st = s.worker_stats(w);
      if (!st) {
        s.push(f.conn, "wstats none");
      } else {
        s.push(f.conn, "wstats pid=" + std::to_string(st->pid) + " requests=" + std::to_string(st->request_count) +
                           " total=" + std::to_string(st->total_request_count) +
                           " messages=" + std::to_string(st->messages) + " restarts=" + std::to_string(st->restarts));
      }
    } else if (cmd == "nodes") {
      std::string reply = "nodes " + std::to_string(s.node_number());
      for (uint16_t n : s.cluster_nodes()) reply += " " + std::to_string(n);
      reply += " conns " + std::to_string(s.stats().cluster_connection_num);
      s.push(f.conn, reply);
    } else if (cmd == "kick") {
      uint64_t id = 0;
      int code = 4000;
      in >> id >> code;
      s.push(f.conn, "kick " + std::to_string(s.disconnect(id, code, "kicked")));
    } else if (cmd == "countall") {
      s.push(f.conn, "countall " + std::to_string(s.connections(false).size()));
    } else if (cmd == "after") {
      uint64_t ms = 0;
      in >> ms;
      wsd_conn_t conn = f.conn;
      wsd::Server srv = s;
      s.after(ms, [srv, conn, ms]() mutable { srv.push(conn, "timer " + std::to_string(ms)); });
    } else if (cmd == "tick") {
      uint64_t ms = 0;
      int n = 0;
      in >> ms >> n;
      if (!tick_fn) {
        wsd::Server srv = s;
        tick_fn = [this, srv](uint64_t id) mutable {
          auto& [conn, left] = ticks[id];
          srv.push(conn, "tick " + std::to_string(left));
          if (--left <= 0) {
            srv.clear_timer(id);
            ticks.erase(id);
          }
        };
      }
      uint64_t id = s.tick(ms, &tick_fn);
      ticks[id] = {f.conn, n};
    } else if (cmd == "defer") {
      wsd_conn_t conn = f.conn;
      wsd::Server srv = s;
      s.defer([srv, conn]() mutable { srv.push(conn, "deferred"); });
      s.push(f.conn, "deferring");
    } else if (cmd == "crash") {
      std::raise(SIGSEGV);
    } else if (cmd == "sleep") {
      int ms = 0;
      in >> ms;
      std::this_thread::sleep_for(std::chrono::milliseconds(ms));
      s.push(f.conn, "slept");
    } else if (cmd == "config") {
      std::string key;
      in >> key;
      s.push(f.conn, "config " + s.config(key.c_str(), "<none>"));
    } else {
      return false;
    }
    return true;
  }
};

}  // namespace

#ifdef PROBE_CUSTOM_HANDSHAKE
WSD_PLUGIN(Probe, "probe_hs")
#else
WSD_PLUGIN(Probe, "probe")
#endif
