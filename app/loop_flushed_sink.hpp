#pragma once
// The log's sink (stderr or the log file): lines are collected and written
// once per turn of the io loop instead of one write(2) each, so a burst of
// sessions logs with a few writes and no line waits longer than the handlers
// queued before its flush. Warnings and worse are written at once, as is
// everything while no loop is attached (start-up, shutdown, subcommands
// without one). Thread-safe: hook threads log through it too.
#include <spdlog/sinks/base_sink.h>

#include <filesystem>
#include <mutex>
#include <optional>
#include <string>

#include <boost/asio/any_io_executor.hpp>

namespace vhm::app {

class LoopFlushedSink final : public spdlog::sinks::base_sink<std::mutex> {
 public:
  // Standard error, not owned.
  LoopFlushedSink();
  // `path` opened for appending (its directory made if missing); throws
  // std::runtime_error with the reason when it cannot be opened.
  explicit LoopFlushedSink(const std::filesystem::path& path);
  ~LoopFlushedSink() override;
  LoopFlushedSink(const LoopFlushedSink&) = delete;
  LoopFlushedSink& operator=(const LoopFlushedSink&) = delete;

  // Lines wait for a turn of this loop from now on; nullopt: written at once
  // again (what is pending first). Detach before the loop is destroyed.
  void attach_loop(std::optional<boost::asio::any_io_executor> executor);

 protected:
  void sink_it_(const spdlog::details::log_msg& message) override;
  void flush_() override;

 private:
  void write_pending();  // with mutex_ held

  int fd_;
  bool owned_;
  std::string pending_;
  std::optional<boost::asio::any_io_executor> executor_;
  bool posted_ = false;  // a write is queued on the loop
};

}  // namespace vhm::app
