// Process set-up that a classic (non-systemd) start needs: detaching from
// the terminal, the pid file, dropping root after binding.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace wsd::daemon {

// fork + setsid; the parent exits 0, the child continues with stdin, stdout
// and stderr on /dev/null. Returns false (with `error`) when fork fails.
bool daemonize(std::string& error);

// Writes getpid() and a newline to `path` (replacing it).
bool write_pid_file(const std::string& path, std::string& error);
// Removes `path` when it still holds our pid.
void remove_pid_file(const std::string& path);

// Switches to `user` / `group` ("" = keep): supplementary groups (initgroups
// for the user, or just the group), setgid, setuid. An unknown user or group
// is an error naming it. `own` (files the new user must still write, such as
// log_file, which workers open after the switch) are chown'ed first.
bool drop_privileges(const std::string& user, const std::string& group,
                     const std::vector<std::string>& own, std::string& error);

// Descriptors a wsd process needs besides its client sockets: listeners,
// channels, epoll sets, logs, and whatever the plugins open.
constexpr uint64_t kFdReserve = 1024;

// Raises the soft RLIMIT_NOFILE to the hard limit (a server holding many
// connections needs it; systemd's LimitNOFILE sets the hard one), and the
// hard limit too when it is below `wanted` and the process may (root with
// CAP_SYS_RESOURCE). Never lowers either. Workers inherit the result.
// Returns the soft limit now in force.
uint64_t raise_fd_limit(uint64_t wanted);

}  // namespace wsd::daemon
