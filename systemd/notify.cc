#include "systemd/notify.h"

#include <systemd/sd-daemon.h>

#include <ctime>

namespace wsd::systemd {

namespace {
void send(const std::string& state) {
  // unset_environment = 0: the workers we spawn must not inherit a socket
  // they would write to, but we need it ourselves for later notifications;
  // the master removes NOTIFY_SOCKET from the workers' environment instead.
  sd_notify(0, state.c_str());
}

// RELOADING=1 must carry the monotonic time since systemd 253; older systemd ignores it.
std::string monotonic_usec() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return std::to_string(static_cast<uint64_t>(ts.tv_sec) * 1000000u + static_cast<uint64_t>(ts.tv_nsec) / 1000u);
}
}  // namespace

void notify_ready(const std::string& status) { send("READY=1\nSTATUS=" + status); }
void notify_reloading() { send("RELOADING=1\nMONOTONIC_USEC=" + monotonic_usec()); }
void notify_stopping() { send("STOPPING=1"); }
void notify_status(const std::string& status) { send("STATUS=" + status); }
void notify_watchdog() { send("WATCHDOG=1"); }

uint64_t watchdog_interval_usec() {
  uint64_t usec = 0;
  return sd_watchdog_enabled(0, &usec) > 0 ? usec : 0;
}

}  // namespace wsd::systemd
