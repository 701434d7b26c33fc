// What the master tells systemd (Type=notify): ready, reloading, stopping,
// a status line, and watchdog pings. Every call is a no-op when wsd was not
// started by systemd (no NOTIFY_SOCKET), so callers need no checks.
#pragma once

#include <cstdint>
#include <string>

namespace wsd::systemd {

void notify_ready(const std::string& status);
void notify_reloading();
void notify_stopping();
void notify_status(const std::string& status);
void notify_watchdog();

// The watchdog period systemd asked for (WatchdogSec), in microseconds; 0
// when none. Ping at half of it.
uint64_t watchdog_interval_usec();

}  // namespace wsd::systemd
