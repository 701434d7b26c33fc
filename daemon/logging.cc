#include "daemon/logging.h"

#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/dist_sink.h>
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

// With log_file: the logger writes through a dist_sink (its sink list is
// guarded by a mutex) holding one file sink; reopen_logs() swaps that sink.
std::shared_ptr<spdlog::sinks::dist_sink_mt> g_file_dist;
std::string g_log_file;
std::string g_pattern;
}  // namespace

void setup_logging(const config::Config& config, const std::string& role) {
  std::shared_ptr<spdlog::logger> logger;
  g_pattern = "%Y-%m-%d %H:%M:%S.%e %^%l%$ [" + role + "] %v";
  if (config.log_file.empty()) {
    logger = spdlog::stderr_logger_mt("wsd");
  } else {
    g_log_file = config.log_file;
    auto file = std::make_shared<spdlog::sinks::basic_file_sink_mt>(config.log_file, /*truncate=*/false);
    g_file_dist = std::make_shared<spdlog::sinks::dist_sink_mt>();
    g_file_dist->add_sink(file);
    logger = std::make_shared<spdlog::logger>("wsd", g_file_dist);
    spdlog::register_logger(logger);
  }
  logger->set_pattern(g_pattern);
  logger->set_level(to_spdlog(config.log_level));
  logger->flush_on(spdlog::level::info);
  spdlog::set_default_logger(logger);
}

void reopen_logs() {
  if (!g_file_dist) return;
  try {
    auto file = std::make_shared<spdlog::sinks::basic_file_sink_mt>(g_log_file, /*truncate=*/false);
    file->set_pattern(g_pattern);
    g_file_dist->set_sinks({file});
    spdlog::info("log file {} reopened", g_log_file);
  } catch (const spdlog::spdlog_ex& e) {
    // Keep writing to the old file rather than losing the log.
    spdlog::error("cannot reopen log file {}: {}", g_log_file, e.what());
  }
}

}  // namespace wsd::daemon
