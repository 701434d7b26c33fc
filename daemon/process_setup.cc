#include "daemon/process_setup.h"

#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>

namespace wsd::daemon {

namespace {
constexpr const char* kNeedRoot =
    " (only root can switch user or group: start wsd as root, or leave user: and group: unset)";
constexpr const char* kPidHint = " (pid_file must be in a folder this user can write, e.g. /run/wsd)";
}  // namespace

bool daemonize(std::string& error) {
  pid_t pid = fork();
  if (pid < 0) {
    error = std::string("fork: ") + std::strerror(errno);
    return false;
  }
  if (pid > 0) _exit(0);
  setsid();
  int null = open("/dev/null", O_RDWR);
  if (null >= 0) {
    dup2(null, STDIN_FILENO);
    dup2(null, STDOUT_FILENO);
    dup2(null, STDERR_FILENO);
    if (null > STDERR_FILENO) close(null);
  }
  return true;
}

bool write_pid_file(const std::string& path, std::string& error) {
  std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << getpid() << '\n';
    if (!out.flush()) {
      error = "cannot write pid file " + path + ": " + std::strerror(errno) + kPidHint;
      return false;
    }
  }
  if (rename(tmp.c_str(), path.c_str()) != 0) {
    error = "cannot write pid file " + path + ": " + std::strerror(errno) + kPidHint;
    unlink(tmp.c_str());
    return false;
  }
  return true;
}

void remove_pid_file(const std::string& path) {
  std::ifstream in(path);
  long pid = 0;
  if (in >> pid && pid == static_cast<long>(getpid())) unlink(path.c_str());
}

bool drop_privileges(const std::string& user, const std::string& group,
                     const std::vector<std::string>& own, std::string& error) {
  if (user.empty() && group.empty()) return true;
  struct passwd* pw = nullptr;
  if (!user.empty()) {
    pw = getpwnam(user.c_str());
    if (!pw) {
      error = "unknown user '" + user + "': create it (adduser --system " + user + ")" +
              " or change user: in the config";
      return false;
    }
  }
  gid_t gid;
  if (!group.empty()) {
    struct group* gr = getgrnam(group.c_str());
    if (!gr) {
      error = "unknown group '" + group + "': create it (addgroup --system " + group + ")" +
              " or change group: in the config";
      return false;
    }
    gid = gr->gr_gid;
  } else {
    gid = pw->pw_gid;
  }
  uid_t uid = pw ? pw->pw_uid : getuid();
  // Already that user and group (e.g. systemd's User=): nothing to do.
  if (getuid() == uid && geteuid() == uid && getgid() == gid && getegid() == gid) return true;
  for (const std::string& path : own) {
    if (!path.empty() && chown(path.c_str(), uid, gid) != 0 && errno != ENOENT) {
      error = "chown " + path + ": " + std::strerror(errno);
      return false;
    }
  }
  int rc = pw ? initgroups(pw->pw_name, gid) : setgroups(1, &gid);
  if (rc != 0) {
    error = std::string("setgroups: ") + std::strerror(errno) + kNeedRoot;
    return false;
  }
  if (setgid(gid) != 0) {
    error = "setgid(" + std::to_string(gid) + "): " + std::strerror(errno) + kNeedRoot;
    return false;
  }
  if (pw && setuid(uid) != 0) {
    error = "setuid(" + std::to_string(uid) + ") for user '" + user + "': " + std::strerror(errno) + kNeedRoot;
    return false;
  }
  return true;
}

uint64_t raise_fd_limit(uint64_t wanted) {
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0) return 0;
  if (rl.rlim_max < wanted) {
    rlimit higher{wanted, wanted};
    if (setrlimit(RLIMIT_NOFILE, &higher) == 0) return wanted;   // allowed to raise the hard limit
  }
  if (rl.rlim_cur < rl.rlim_max) {
    rlimit raised{rl.rlim_max, rl.rlim_max};
    rlimit enough{wanted, rl.rlim_max};   // a hard limit above the kernel's nr_open cannot be the soft one
    if (setrlimit(RLIMIT_NOFILE, &raised) == 0) {
      rl = raised;
    } else if (wanted > rl.rlim_cur && wanted <= rl.rlim_max && setrlimit(RLIMIT_NOFILE, &enough) == 0) {
      rl = enough;
    }
  }
  return rl.rlim_cur;
}

}  // namespace wsd::daemon
