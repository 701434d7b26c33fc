// A chat: rooms as topics, nicknames, and the page that uses them.
//
//   GET /        the page (index.html, compiled in)
//   GET /chat    the WebSocket: JSON messages, one object per text frame
//
// README.md beside this file is the protocol's reference. A room "lobby" is
// the topic "chat:lobby": a message is published to it once and the server
// fans it out. Who is in which room, under which nick, is in a MemberTable
// that every worker shares (member_table.h says why).
//
// BASE mode: a publish reaches the connections of the publishing worker's
// process only, so a chat needs worker_num: 1 there.
#include <unistd.h>

#include <chrono>
#include <exception>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "member_table.h"
#include "wsd/plugin.hpp"

namespace chat {
extern const std::string_view kPage;  // chat_page.cc, generated from index.html
}

namespace {

using json = nlohmann::ordered_json;  // keys in the order written: "type" first

constexpr size_t kMaxFrame = 4096;  // bytes of one client message
constexpr size_t kMaxText = 2000;   // bytes of a chat message's text
constexpr uint64_t kSweepMs = 5000;
// Codes 4000-4999 are the application's (RFC 6455 7.4.2).
constexpr int kCloseWrongPath = 4404;

// Rooms and nicks: 1 to max ASCII letters, digits, '_', '-' and '.'.
bool valid_name(std::string_view s, size_t max) {
  if (s.empty() || s.size() > max) return false;
  for (char c : s) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-' ||
              c == '.';
    if (!ok) return false;
  }
  return true;
}

std::string topic_of(std::string_view room) { return "chat:" + std::string(room); }

int64_t now_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

// Strings in replies come from parsed JSON or from validated names, so they
// are valid UTF-8; `replace` only keeps dump() from ever throwing.
std::string text(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

// The string field `key` of an object, or nullopt.
std::optional<std::string> field(const json& msg, const char* key) {
  auto it = msg.find(key);
  if (it == msg.end() || !it->is_string()) return std::nullopt;
  return it->get<std::string>();
}

}  // namespace

struct Chat {
  chat::MemberTable table;
  wsd_ctx* ctx = nullptr;
  uint64_t sweep_timer = 0;
  std::function<void(uint64_t)> sweep_fn;

  void on_worker_start(wsd::Server& s) {
    ctx = s.raw();
    // Workers are the master's children, also after a reload: its pid names
    // the table all of them share.
    std::string error = table.open(getppid(), s.stats().start_time);
    if (!error.empty()) s.log(WSD_LOG_WARN, "chat: " + error + "; member lists show this worker's members only");
    sweep_fn = [this](uint64_t) { sweep(); };
    sweep_timer = s.tick(kSweepMs, &sweep_fn);
  }

  void on_worker_stop(wsd::Server& s) { s.clear_timer(sweep_timer); }

  void on_request(wsd::Server&, const wsd::Request& req, wsd::Response& resp) {
    if (req.path() != "/" && req.path() != "/index.html") {
      resp.status(404).header("Content-Type", "text/plain; charset=utf-8").end("not found: the chat is at /\n");
    } else if (req.method() != "GET") {
      resp.status(405).header("Allow", "GET").header("Content-Type", "text/plain; charset=utf-8").end("GET only\n");
    } else {
      resp.status(200)
          .header("Content-Type", "text/html; charset=utf-8")
          .header("Cache-Control", "no-cache")
          .header("X-Content-Type-Options", "nosniff")
          .end(chat::kPage);
    }
  }

  void on_open(wsd::Server& s, const wsd::Request& req) {
    if (req.path() != "/chat") s.disconnect(req.conn(), kCloseWrongPath, "the chat's WebSocket is at /chat");
  }

  void on_message(wsd::Server& s, const wsd::Frame& f) {
    try {
      handle(s, f);
    } catch (const std::exception& e) {  // out of memory: say so, keep the worker
      s.log(WSD_LOG_ERROR, std::string("chat: ") + e.what());
    }
  }

  // The close event comes once, to the connection's home worker: its rooms
  // hear that it left.
  void on_close(wsd::Server& s, const wsd::CloseInfo& c) {
    for (const chat::Membership& m : table.leave_all(c.conn)) announce(s, "left", m.room, m.nick);
  }

 private:
  void handle(wsd::Server& s, const wsd::Frame& f) {
    if (f.opcode != wsd::kText) return error(s, f.conn, "", "bad_json", "send JSON in text frames");
    if (f.data.size() > kMaxFrame) return error(s, f.conn, "", "too_big", "a message is at most 4096 bytes");
    json msg = json::parse(f.data, nullptr, /*allow_exceptions=*/false);
    if (msg.is_discarded() || !msg.is_object()) return error(s, f.conn, "", "bad_json", "not a JSON object");
    std::string type = field(msg, "type").value_or("");
    std::string room = field(msg, "room").value_or("");
    if (type != "join" && type != "leave" && type != "message" && type != "who")
      return error(s, f.conn, type, "bad_request", "type is one of join, leave, message, who");
    if (!valid_name(room, chat::MemberTable::kMaxRoom))
      return error(s, f.conn, type, "bad_room", "a room is 1-32 letters, digits, '_', '-' or '.'");
    if (type == "join") return join(s, f.conn, room, field(msg, "nick").value_or(""));
    if (type == "leave") return leave(s, f.conn, room);
    if (type == "who") return who(s, f.conn, room);
    message(s, f.conn, room, field(msg, "text"));
  }

  chat::Alive alive(wsd::Server& s) {
    return [&s](uint64_t conn) { return s.exist(conn); };
  }

  void join(wsd::Server& s, wsd_conn_t conn, const std::string& room, const std::string& nick) {
    if (!valid_name(nick, chat::MemberTable::kMaxNick))
      return error(s, conn, "join", "bad_nick", "a nickname is 1-24 letters, digits, '_', '-' or '.'");
    switch (table.join(conn, room, nick, alive(s))) {
      case chat::JoinResult::kJoined:
        if (s.subscribe(conn, topic_of(room)) != WSD_OK) {  // it closed meanwhile
          table.leave(conn, room);
          return;
        }
        announce(s, "joined", room, nick);  // after subscribe: the joiner gets it too, first
        break;
      case chat::JoinResult::kAlready:
        s.push(conn, text({{"type", "joined"}, {"room", room}, {"nick", nick}}));
        break;
      case chat::JoinResult::kOtherNick:
        return error(s, conn, "join", "already_joined", "you are in this room under another nickname: leave first");
      case chat::JoinResult::kNickTaken:
        return error(s, conn, "join", "nick_taken", "someone in this room uses that nickname");
      case chat::JoinResult::kTooManyRooms:
        return error(s, conn, "join", "too_many_rooms", "a connection is in at most 8 rooms");
      case chat::JoinResult::kFull:
        return error(s, conn, "join", "full", "the server has no room for more members");
    }
    who(s, conn, room);
  }

  void leave(wsd::Server& s, wsd_conn_t conn, const std::string& room) {
    std::optional<std::string> nick = table.leave(conn, room);
    if (!nick) return error(s, conn, "leave", "not_joined", "you are not in this room");
    announce(s, "left", room, *nick);  // before unsubscribe: the leaver's answer
    s.unsubscribe(conn, topic_of(room));
  }

  void who(wsd::Server& s, wsd_conn_t conn, const std::string& room) {
    if (!table.nick_of(conn, room)) return error(s, conn, "who", "not_joined", "join the room first");
    s.push(conn, text({{"type", "members"}, {"room", room}, {"nicks", table.members(room, alive(s))}}));
  }

  void message(wsd::Server& s, wsd_conn_t conn, const std::string& room, const std::optional<std::string>& body) {
    if (!body || body->empty() || body->size() > kMaxText)
      return error(s, conn, "message", "bad_text", "text is a string of 1-2000 bytes");
    std::optional<std::string> nick = table.nick_of(conn, room);
    if (!nick) return error(s, conn, "message", "not_joined", "join the room first");
    json out = {{"type", "message"}, {"room", room}, {"nick", *nick}, {"text", *body}, {"time", now_ms()}};
    if (s.publish(topic_of(room), text(out)) != WSD_OK)
      error(s, conn, "message", "busy", "the server is too busy to send that now");
  }

  void announce(wsd::Server& s, const char* type, const std::string& room, const std::string& nick) {
    s.publish(topic_of(room), text({{"type", type}, {"room", room}, {"nick", nick}}));
  }

  // `request` is the type of the message that failed ("" when unreadable).
  void error(wsd::Server& s, wsd_conn_t conn, std::string_view request, const char* code, const char* what) {
    s.push(conn, text({{"type", "error"}, {"request", request}, {"code", code}, {"message", what}}));
  }

  // Memberships of connections whose close event was lost (a worker crashed
  // with it, or a join raced the close on another worker) are dropped here.
  void sweep() {
    wsd::Server s(ctx);
    for (const chat::Membership& m : table.sweep(alive(s))) announce(s, "left", m.room, m.nick);
  }
};

WSD_PLUGIN(Chat, "chat")
