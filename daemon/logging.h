// The server's logger: spdlog to stderr (journald adds time stamps when
// systemd runs us) or to log_file, at log_level.
#pragma once

#include "config/config.h"

namespace wsd::daemon {

// `role` ("master", "worker 2") starts every line.
void setup_logging(const config::Config& config, const std::string& role);

}  // namespace wsd::daemon
