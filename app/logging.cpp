#include "app/logging.hpp"

#include "util/log.hpp"

#include "app/loop_flushed_sink.hpp"

namespace vhm::app {
namespace {

std::shared_ptr<LoopFlushedSink>& log_sink() {
  static std::shared_ptr<LoopFlushedSink> sink;
  return sink;
}

}  // namespace

std::optional<std::string> setup_logging(const std::filesystem::path& log_file, const std::string& level) {
  const auto parsed_level = spdlog::level::from_str(level);
  if (parsed_level == spdlog::level::off && level != "off") return "unknown log level \"" + level + "\"";
  std::shared_ptr<LoopFlushedSink> sink;
  try {
    sink = log_file.empty() ? std::make_shared<LoopFlushedSink>() : std::make_shared<LoopFlushedSink>(log_file);
  } catch (const std::runtime_error& error) {
    return "cannot open log file " + log_file.string() + ": " + error.what();
  }
  auto logger = std::make_shared<spdlog::logger>("vhm", sink);
  logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e%z %l %v");
  logger->set_level(parsed_level);
  logger->flush_on(spdlog::level::off);  // the sink writes each line or each loop turn itself
  spdlog::set_default_logger(logger);
  log_sink() = std::move(sink);
  return std::nullopt;
}

void write_log_per_loop_turn(std::optional<boost::asio::any_io_executor> executor) {
  if (auto& sink = log_sink()) sink->attach_loop(std::move(executor));
}

}  // namespace vhm::app
