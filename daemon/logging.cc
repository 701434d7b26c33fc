#include "daemon/logging.h"

#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

namespace wsd::daemon {

namespace {
spdlog::level::level_enum to_spdlog(config::LogLevel l) {
  switch (l) {
    case config::LogLevel::Trace: return spdlog::level::trace;
    case config::LogLevel::Debug: return spdlog::level::debug;
    case config::LogLevel::Info: return spdlog::level::info;
    case config::LogLevel::Warning: return spdlog::level::warn;
    case config::LogLevel::Error: return spdlog::level::err;
    case config::LogLevel::Critical: return spdlog::level::critical;
    case config::LogLevel::Off: return spdlog::level::off;
  }
  return spdlog::level::info;
}
}  // namespace

void setup_logging(const config::Config& config, const std::string& role) {
  std::shared_ptr<spdlog::logger> logger;
  if (config.log_file.empty()) {
    logger = spdlog::stderr_logger_mt("wsd");
  } else {
    logger = spdlog::basic_logger_mt("wsd", config.log_file);
  }
  logger->set_pattern("%Y-%m-%d %H:%M:%S.%e %^%l%$ [" + role + "] %v");
  logger->set_level(to_spdlog(config.log_level));
  logger->flush_on(spdlog::level::info);
  spdlog::set_default_logger(logger);
}

}  // namespace wsd::daemon
