// Small helpers shared by the integration tests: talking to the probe
// plugin and counting its event lines. Header-only; every wait is bounded.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "ws_client.h"
#include "wsd_server.h"

namespace wsd::test {

// What a Received is, for failure messages.
inline std::string describe(const Received& r) {
  switch (r.kind) {
    case Received::Message: return "message(op " + std::to_string(r.opcode) + ") \"" + r.data.substr(0, 80) + "\"";
    case Received::Ping: return "ping \"" + r.data + "\"";
    case Received::Pong: return "pong \"" + r.data + "\"";
    case Received::Close: return "close " + std::to_string(r.code) + " \"" + r.reason + "\"";
    case Received::Error: return "error " + std::to_string(r.code) + " (" + r.reason + ")";
    case Received::Timeout: return "timeout";
    case Received::Eof: return "eof";
  }
  return "?";
}

// The next message's text, or a description of what came instead.
inline std::string receive_text(WsClient& c) {
  Received r = c.receive();
  if (r.kind == Received::Message) return r.data;
  return "<" + describe(r) + ">";
}

// Sends a probe command and returns the reply.
inline std::string ask(WsClient& c, const std::string& command) {
  if (!c.send_text(command)) return "<send failed>";
  return receive_text(c);
}

struct Whoami {
  uint64_t id = 0;
  int worker = -1;
};

// "whoami" -> "id <conn> worker <w>".
inline Whoami whoami(WsClient& c) {
  Whoami w;
  std::istringstream in(ask(c, "whoami"));
  std::string id_word, worker_word;
  in >> id_word >> w.id >> worker_word >> w.worker;
  if (id_word != "id" || worker_word != "worker") return {};
  return w;
}

// Lines of the events file starting with `prefix` (e.g. "close 123 ").
// Two connections on different workers (PROCESS: dispatch spreads them;
// BASE: the kernel does, so allow a long run on one worker).
struct Pair {
  int a = -1, b = -1;
};
inline Pair on_two_workers(const WsdServer& server, std::vector<std::unique_ptr<WsClient>>& clients, std::vector<Whoami>& who) {
  Pair p;
  for (int i = 0; i < 24 && p.b < 0; ++i) {
    clients.push_back(std::make_unique<WsClient>());
    REQUIRE(clients.back()->open(server.port(), "/"));
    who.push_back(whoami(*clients.back()));
    REQUIRE(who.back().id != 0);
    for (size_t j = 0; j + 1 < who.size(); ++j) {
      if (who[j].worker != who.back().worker) {
        p.a = static_cast<int>(j);
        p.b = static_cast<int>(who.size() - 1);
        break;
      }
    }
  }
  return p;
}

inline std::vector<std::string> event_lines(const WsdServer& server, const std::string& prefix) {
  std::vector<std::string> out;
  for (const std::string& l : server.events()) {
    if (l.compare(0, prefix.size(), prefix) == 0) out.push_back(l);
  }
  return out;
}

// Waits (bounded) for at least one line starting with `prefix`, then a
// further settle time, and returns all such lines: a duplicate event sent
// late shows up in the count.
inline std::vector<std::string> settled_events(const WsdServer& server, const std::string& prefix,
                                               std::chrono::milliseconds timeout = std::chrono::milliseconds(5000),
                                               std::chrono::milliseconds settle = std::chrono::milliseconds(200)) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (event_lines(server, prefix).empty() && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  std::this_thread::sleep_for(settle);
  return event_lines(server, prefix);
}

// The close events of connection `id`, after they settled.
inline std::vector<std::string> close_events(const WsdServer& server, uint64_t id) {
  return settled_events(server, "close " + std::to_string(id) + " ");
}

inline bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

// Bytes of a given size that are valid UTF-8 (ASCII) and not all alike.
inline std::string pattern(size_t n, bool binary = false) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) s[i] = binary ? static_cast<char>((i * 131 + 7) & 0xFF) : static_cast<char>('a' + i % 26);
  return s;
}

}  // namespace wsd::test

namespace wsd::test {

// One more entry for the plugins list of probe_config(): probe_config(extra)
// appends `extra` right after the list, so entries placed first continue it.
inline std::string plugin_entry(const std::string& name, const std::string& file, const std::string& path,
                                bool with_events_file = false) {
  std::string s = "  - name: " + name + "\n    file: " + file + "\n    paths: [\"" + path + "\"]\n";
  if (with_events_file) s += "    config:\n      events_file: EVENTS_FILE\n";
  return s;
}

// An upgrade request with a given key, as raw text.
inline std::string upgrade_request(const std::string& path, const std::string& key,
                                   const std::string& extra_headers = {}) {
  return "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
         "Sec-WebSocket-Key: " + key + "\r\nSec-WebSocket-Version: 13\r\n" + extra_headers + "\r\n";
}

}  // namespace wsd::test

namespace wsd::test {

// The probe's "info" reply: "info <ip> <port> <server_port> <status> <reactor>
// <worker> <tls> <peer_ip> <peer_port>". ok = all fields were there.
struct ClientInfo {
  bool ok = false;
  std::string ip;
  int port = -1;
  int server_port = -1;
  int status = -1;
  int reactor = -1;
  int worker = -1;
  int tls = -1;
  std::string peer_ip;
  int peer_port = -1;
  std::string text;   // the reply as it came, for failure messages
};

inline ClientInfo client_info(WsClient& c) {
  ClientInfo i;
  i.text = ask(c, "info");
  std::istringstream in(i.text);
  std::string word;
  in >> word >> i.ip >> i.port >> i.server_port >> i.status >> i.reactor >> i.worker >> i.tls >> i.peer_ip >> i.peer_port;
  i.ok = word == "info" && !in.fail();
  return i;
}

// The value of `key=` in an event line ("remote=1.2.3.4 ..." -> "1.2.3.4").
inline std::string event_field(const std::string& line, const std::string& key) {
  std::string needle = " " + key + "=";
  size_t at = line.find(needle);
  if (at == std::string::npos) return "<no " + key + ">";
  at += needle.size();
  return line.substr(at, line.find(' ', at) - at);
}

}  // namespace wsd::test

namespace wsd::test {

// Asks the probe (on connection c) for "countall" until it reports `n`
// connections in the table (bounded); returns the last count, -1 if none.
inline long wait_table_count(WsClient& c, long n, std::chrono::milliseconds timeout = std::chrono::milliseconds(3000)) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  long last = -1;
  do {
    std::istringstream in(ask(c, "countall"));
    std::string word;
    long count = -1;
    in >> word >> count;
    if (word == "countall") last = count;
    if (last == n) return last;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  } while (std::chrono::steady_clock::now() < deadline);
  return last;
}

}  // namespace wsd::test
