#include "app/loop_flushed_sink.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

#include <boost/asio/post.hpp>

namespace vhm::app {
namespace {

// Beyond this, pending lines are written without waiting for the loop.
constexpr std::size_t max_pending = 64 * 1024;

}  // namespace

LoopFlushedSink::LoopFlushedSink() : fd_(STDERR_FILENO), owned_(false) {}

LoopFlushedSink::LoopFlushedSink(const std::filesystem::path& path) : owned_(true) {
  std::error_code ignored;
  if (path.has_parent_path()) std::filesystem::create_directories(path.parent_path(), ignored);
  fd_ = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0666);  // the umask decides, as for fopen
  if (fd_ < 0) throw std::runtime_error(std::strerror(errno));
}

LoopFlushedSink::~LoopFlushedSink() {
  std::lock_guard lock(mutex_);
  write_pending();
  if (owned_) ::close(fd_);
}

void LoopFlushedSink::attach_loop(std::optional<boost::asio::any_io_executor> executor) {
  std::lock_guard lock(mutex_);
  write_pending();
  executor_ = std::move(executor);
  posted_ = false;  // a write queued on a loop that is going away never runs
}

void LoopFlushedSink::sink_it_(const spdlog::details::log_msg& message) {
  spdlog::memory_buf_t formatted;
  formatter_->format(message, formatted);
  pending_.append(formatted.data(), formatted.size());
  if (!executor_ || message.level >= spdlog::level::warn || pending_.size() >= max_pending) {
    write_pending();
  } else if (!posted_) {
    posted_ = true;
    boost::asio::post(*executor_, [this] {
      std::lock_guard lock(mutex_);
      posted_ = false;
      write_pending();
    });
  }
}

void LoopFlushedSink::flush_() { write_pending(); }

void LoopFlushedSink::write_pending() {
  std::size_t done = 0;
  while (done < pending_.size()) {
    const ssize_t n = ::write(fd_, pending_.data() + done, pending_.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;  // a full disk or a closed stderr: the lines are lost, the proxy goes on
    done += static_cast<std::size_t>(n);
  }
  pending_.clear();
}

}  // namespace vhm::app
