#include "proxy/relay/splice_pipe.hpp"

#include <fcntl.h>

#include <cerrno>

namespace vhm::proxy::relay {
namespace {

// One splice(2) asks for this much; the pipe takes what fits.
constexpr std::size_t splice_chunk = 1 << 20;
constexpr unsigned splice_flags = SPLICE_F_MOVE | SPLICE_F_NONBLOCK;
// Fewer, larger moves per wake-up.
constexpr int relay_pipe_size = 256 * 1024;
// Empty pipes kept open for the next burst of any session.
constexpr std::size_t spare_pipes = 64;

// The io thread's empty relay pipes, shared by all its sessions.
PipePool& relay_pipes() {
  thread_local PipePool pool(relay_pipe_size, spare_pipes);
  return pool;
}

}  // namespace

void SplicePipe::give_back_empty() {
  if (pipe_) relay_pipes().give_back(std::move(*pipe_));
  pipe_.reset();
}

SplicePipe::Fill SplicePipe::fill(int source, std::uint64_t& counter, boost::system::error_code& error) {
  if (!pipe_) pipe_.emplace(relay_pipes().acquire());
  if (!pipe_->ok()) {
    error = {errno, boost::system::system_category()};
    pipe_.reset();
    return Fill::no_pipe;
  }
  for (;;) {
    const ssize_t n = ::splice(source, nullptr, pipe_->write_end(), nullptr, splice_chunk, splice_flags);
    if (n > 0) {
      in_pipe_ = static_cast<std::size_t>(n);
      counter += in_pipe_;
      return Fill::filled;
    }
    const int failure = n < 0 ? errno : 0;
    if (failure == EINTR) continue;
    give_back_empty();  // a session that only ever saw EOF here made no pipe of its own
    if (n == 0) return Fill::eof;
    if (failure == EAGAIN) return Fill::drained;
    error = {failure, boost::system::system_category()};
    return Fill::failed;
  }
}

SplicePipe::Drain SplicePipe::drain(int sink, std::size_t limit, std::size_t& moved, boost::system::error_code& error) {
  for (;;) {
    const ssize_t m = ::splice(pipe_->read_end(), nullptr, sink, nullptr, limit, splice_flags);
    if (m > 0) {
      moved = static_cast<std::size_t>(m);
      in_pipe_ -= moved;
      return Drain::moved;
    }
    const int failure = m < 0 ? errno : EPIPE;  // 0 moved: the sink is gone
    if (failure == EINTR) continue;
    if (failure == EAGAIN) return Drain::sink_full;
    error = {failure, boost::system::system_category()};
    return Drain::failed;
  }
}

}  // namespace vhm::proxy::relay
