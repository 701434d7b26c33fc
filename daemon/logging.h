// The server's logger: spdlog to stderr (journald adds time stamps when
// systemd runs us) or to log_file, at log_level.
#pragma once

#include "config/config.h"

namespace wsd::daemon {

// `role` ("master", "worker 2") starts every line.
void setup_logging(const config::Config& config, const std::string& role);

// SIGUSR1 (logrotate): with log_file set, closes the log file and opens it
// again at the same path (append mode), so that lines after a rename go to
// a new file. Nothing happens when logging goes to stderr. Safe while other
// threads log: the logger stays, only its file sink is swapped.
void reopen_logs();

}  // namespace wsd::daemon
