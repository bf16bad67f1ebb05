#include "app/logging.hpp"

#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

namespace vhm::app {

std::optional<std::string> setup_logging(const std::filesystem::path& log_file, const std::string& level) {
  const auto parsed_level = spdlog::level::from_str(level);
  if (parsed_level == spdlog::level::off && level != "off") return "unknown log level \"" + level + "\"";
  std::shared_ptr<spdlog::logger> logger;
  try {
    if (log_file.empty())
      logger = std::make_shared<spdlog::logger>("vhm", std::make_shared<spdlog::sinks::stderr_sink_mt>());
    else
      logger = std::make_shared<spdlog::logger>(
          "vhm", std::make_shared<spdlog::sinks::basic_file_sink_mt>(log_file.string(), /*truncate=*/false));
  } catch (const spdlog::spdlog_ex& error) {
    return "cannot open log file " + log_file.string() + ": " + error.what();
  }
  logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e%z %l %v");
  logger->set_level(parsed_level);
  logger->flush_on(spdlog::level::trace);
  spdlog::set_default_logger(logger);
  return std::nullopt;
}

}  // namespace vhm::app
