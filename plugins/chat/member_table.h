// Who is in which room, seen alike by every worker of one wsd server.
//
// Connection state kept in a worker's memory would be wrong three ways: the
// other workers cannot see it (PROCESS mode has several), a reload replaces
// every worker (and its memory) while the connections stay open, and with
// dispatch_mode 1 or 3 one connection's messages go to different workers.
// So memberships live in one small table in POSIX shared memory, named after
// the master's pid: every worker of the server, and the workers that replace
// them, open the same table. README.md ("Member lists") explains the choice.
//
// The table is a dense array (scans cost what is in use, not the capacity)
// behind a process-shared robust mutex: a worker that dies holding it does
// not block the others. Entries of connections that are gone (a close event
// lost with a crashed worker) are dropped by sweep(), or skipped by
// members() meanwhile.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace chat {

struct Membership {
  uint64_t conn;
  std::string room;
  std::string nick;
};

enum class JoinResult {
  kJoined,        // a new membership
  kAlready,       // the connection is in the room under this nick already
  kOtherNick,     // the connection is in the room under another nick
  kNickTaken,     // another live connection uses the nick in the room
  kTooManyRooms,  // the connection is in kMaxRoomsPerConn rooms
  kFull           // kCapacity memberships in all
};

using Alive = std::function<bool(uint64_t conn)>;

class MemberTable {
 public:
  static constexpr size_t kCapacity = 4096;  // memberships, all rooms together
  static constexpr size_t kMaxRoom = 32;     // bytes
  static constexpr size_t kMaxNick = 24;     // bytes
  static constexpr size_t kMaxRoomsPerConn = 8;

  MemberTable() = default;
  MemberTable(const MemberTable&) = delete;
  MemberTable& operator=(const MemberTable&) = delete;
  ~MemberTable();

  // Opens the table of the server whose master is `master` (created by the
  // first worker), started at `start_time` (a table left by an earlier
  // server with the same pid is emptied). Returns "" or why the shared table
  // could not be used: the table is then this process's own.
  std::string open(pid_t master, int64_t start_time);

  // Room and nick are at most kMaxRoom / kMaxNick bytes (the caller
  // validates them). Nicks are unique per room, ignoring ASCII case; the
  // entry of a connection that is not alive any more gives its nick up.
  JoinResult join(uint64_t conn, std::string_view room, std::string_view nick, const Alive& alive);
  // The nick the connection had in the room; nullopt when it was not in it.
  std::optional<std::string> leave(uint64_t conn, std::string_view room);
  std::optional<std::string> nick_of(uint64_t conn, std::string_view room);
  // Removes every membership of the connection and returns them.
  std::vector<Membership> leave_all(uint64_t conn);
  // The nicks of the room's live members, sorted.
  std::vector<std::string> members(std::string_view room, const Alive& alive);
  // Removes the memberships of connections that are not alive and returns them.
  std::vector<Membership> sweep(const Alive& alive);

 private:
  struct Shared;
  class Locked;
  void remove_at(size_t i);

  Shared* shared_ = nullptr;
};

}  // namespace chat
