#include "member_table.h"

#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <thread>

namespace chat {

namespace {

// The layout's version is in the name: a plugin build with another layout,
// loaded by a reload, opens a table of its own instead of misreading this one.
constexpr const char* kNamePrefix = "wsd-chat-v1-";

struct Entry {
  uint64_t conn;
  uint8_t room_len;
  uint8_t nick_len;
  char room[MemberTable::kMaxRoom];
  char nick[MemberTable::kMaxNick];

  std::string_view room_view() const { return {room, room_len}; }
  std::string_view nick_view() const { return {nick, nick_len}; }
};

bool same_nick(std::string_view a, std::string_view b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](char x, char y) {
    auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; };
    return lower(x) == lower(y);
  });
}

// Tables of servers that have stopped (their master's pid is gone) are
// removed by the next server that starts: nothing else would remove them.
void remove_stale_tables(pid_t master) {
  DIR* dir = opendir("/dev/shm");
  if (!dir) return;
  size_t prefix = std::strlen(kNamePrefix);
  while (dirent* e = readdir(dir)) {
    if (std::strncmp(e->d_name, kNamePrefix, prefix) != 0) continue;
    char* end = nullptr;
    long pid = std::strtol(e->d_name + prefix, &end, 10);
    if (*end != '\0' || pid <= 0 || pid == master) continue;
    if (kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH) shm_unlink(("/" + std::string(e->d_name)).c_str());
  }
  closedir(dir);
}

}  // namespace

struct MemberTable::Shared {
  std::atomic<uint32_t> state;  // kNew -> kSettingUp -> kReady, by the first opener
  pthread_mutex_t lock;
  int64_t start_time;
  uint32_t count;  // entries[0, count) are in use
  Entry entries[kCapacity];
};

namespace {
enum : uint32_t { kNew = 0, kSettingUp = 1, kReady = 2 };
}

class MemberTable::Locked {
 public:
  explicit Locked(Shared* s) : s_(s) {
    // EOWNERDEAD: a worker died holding the lock. Every change writes an
    // entry before count covers it or after it no longer does, so the
    // table is usable as it is (at worst an entry shows twice).
    if (pthread_mutex_lock(&s_->lock) == EOWNERDEAD) pthread_mutex_consistent(&s_->lock);
  }
  ~Locked() { pthread_mutex_unlock(&s_->lock); }
  Locked(const Locked&) = delete;
  Locked& operator=(const Locked&) = delete;

 private:
  Shared* s_;
};

MemberTable::~MemberTable() {
  if (shared_) munmap(shared_, sizeof(Shared));
}

std::string MemberTable::open(pid_t master, int64_t start_time) {
  remove_stale_tables(master);
  std::string error;
  std::string name = "/" + std::string(kNamePrefix) + std::to_string(master);
  void* mem = MAP_FAILED;
  int fd = shm_open(name.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  // Every opener sizes it: a no-op but for the first, and no one maps a
  // segment shorter than the table.
  if (fd < 0 || ftruncate(fd, sizeof(Shared)) != 0) {
    error = "shared memory " + name + ": " + std::strerror(errno);
  } else {
    mem = mmap(nullptr, sizeof(Shared), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (mem == MAP_FAILED) error = "mmap of " + name + ": " + std::strerror(errno);
  }
  if (fd >= 0) close(fd);
  if (mem == MAP_FAILED) mem = mmap(nullptr, sizeof(Shared), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (mem == MAP_FAILED) return error + "; and no private table either";
  shared_ = static_cast<Shared*>(mem);

  uint32_t expected = kNew;
  if (shared_->state.compare_exchange_strong(expected, kSettingUp)) {
    pthread_mutexattr_t attr;
    pthread_mutexattr_init(&attr);
    pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED);
    pthread_mutexattr_setrobust(&attr, PTHREAD_MUTEX_ROBUST);
    pthread_mutex_init(&shared_->lock, &attr);
    pthread_mutexattr_destroy(&attr);
    shared_->start_time = start_time;
    shared_->count = 0;
    shared_->state.store(kReady);
  }
  // Another worker is setting it up: a matter of microseconds, bounded anyway.
  for (int i = 0; shared_->state.load() != kReady; ++i) {
    if (i == 2000) return "shared memory " + name + " was never set up";
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  Locked l(shared_);
  if (shared_->start_time != start_time) {  // left by an earlier server whose pid this master has now
    shared_->start_time = start_time;
    shared_->count = 0;
  }
  return error;
}

// Moves the last entry into the hole: the array stays dense.
void MemberTable::remove_at(size_t i) {
  shared_->entries[i] = shared_->entries[shared_->count - 1];
  --shared_->count;
}

JoinResult MemberTable::join(uint64_t conn, std::string_view room, std::string_view nick, const Alive& alive) {
  Locked l(shared_);
  size_t rooms_of_conn = 0;
  for (size_t i = 0; i < shared_->count;) {
    Entry& e = shared_->entries[i];
    if (e.conn == conn) {
      if (e.room_view() == room) return e.nick_view() == nick ? JoinResult::kAlready : JoinResult::kOtherNick;
      ++rooms_of_conn;
    } else if (e.room_view() == room && same_nick(e.nick_view(), nick)) {
      if (alive(e.conn)) return JoinResult::kNickTaken;
      remove_at(i);
      continue;
    }
    ++i;
  }
  if (rooms_of_conn >= kMaxRoomsPerConn) return JoinResult::kTooManyRooms;
  if (shared_->count == kCapacity) return JoinResult::kFull;
  Entry& e = shared_->entries[shared_->count];
  e.conn = conn;
  e.room_len = static_cast<uint8_t>(std::min(room.size(), kMaxRoom));
  e.nick_len = static_cast<uint8_t>(std::min(nick.size(), kMaxNick));
  std::memcpy(e.room, room.data(), e.room_len);
  std::memcpy(e.nick, nick.data(), e.nick_len);
  ++shared_->count;
  return JoinResult::kJoined;
}

std::optional<std::string> MemberTable::leave(uint64_t conn, std::string_view room) {
  Locked l(shared_);
  for (size_t i = 0; i < shared_->count; ++i) {
    const Entry& e = shared_->entries[i];
    if (e.conn == conn && e.room_view() == room) {
      std::string nick(e.nick_view());
      remove_at(i);
      return nick;
    }
  }
  return std::nullopt;
}

std::optional<std::string> MemberTable::nick_of(uint64_t conn, std::string_view room) {
  Locked l(shared_);
  for (size_t i = 0; i < shared_->count; ++i) {
    const Entry& e = shared_->entries[i];
    if (e.conn == conn && e.room_view() == room) return std::string(e.nick_view());
  }
  return std::nullopt;
}

std::vector<Membership> MemberTable::leave_all(uint64_t conn) {
  return sweep([conn](uint64_t c) { return c != conn; });
}

std::vector<std::string> MemberTable::members(std::string_view room, const Alive& alive) {
  std::vector<std::string> out;
  {
    Locked l(shared_);
    for (size_t i = 0; i < shared_->count; ++i) {
      const Entry& e = shared_->entries[i];
      if (e.room_view() == room && alive(e.conn)) out.emplace_back(e.nick_view());
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<Membership> MemberTable::sweep(const Alive& alive) {
  std::vector<Membership> removed;
  Locked l(shared_);
  for (size_t i = 0; i < shared_->count;) {
    const Entry& e = shared_->entries[i];
    if (alive(e.conn)) {
      ++i;
      continue;
    }
    removed.push_back({e.conn, std::string(e.room_view()), std::string(e.nick_view())});
    remove_at(i);
  }
  return removed;
}

}  // namespace chat
