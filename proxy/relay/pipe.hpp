#pragma once
// A non-blocking kernel pipe, the buffer of zero-copy relaying: splice(2)
// moves socket bytes through one, tee(2) duplicates them into another (the
// recorder's). Closed with the object. PipePool keeps empty relay pipes for
// reuse, so a session that went idle holds no pipe (two descriptors each).
#include <fcntl.h>
#include <unistd.h>

#include <cstddef>
#include <utility>
#include <vector>

namespace vhm::proxy::relay {

class Pipe {
 public:
  // `size`: the capacity asked for (F_SETPIPE_SZ), best effort: capped by
  // pipe-max-size and the user's pipe quota, else the kernel's 64 KiB.
  explicit Pipe(int size) {
    if (::pipe2(fds_, O_NONBLOCK | O_CLOEXEC) != 0) {
      fds_[0] = fds_[1] = -1;
      return;
    }
    ::fcntl(fds_[1], F_SETPIPE_SZ, size);
  }
  ~Pipe() {
    if (fds_[0] >= 0) ::close(fds_[0]);
    if (fds_[1] >= 0) ::close(fds_[1]);
  }
  Pipe(const Pipe&) = delete;
  Pipe& operator=(const Pipe&) = delete;
  Pipe(Pipe&& other) noexcept : fds_{std::exchange(other.fds_[0], -1), std::exchange(other.fds_[1], -1)} {}
  Pipe& operator=(Pipe&&) = delete;
  bool ok() const { return fds_[0] >= 0; }
  int read_end() const { return fds_[0]; }
  int write_end() const { return fds_[1]; }

 private:
  int fds_[2];
};

// Empty pipes of one size, given back when a relay direction has nothing to
// move and taken again when bytes arrive: busy sessions reuse them (no
// pipe2/F_SETPIPE_SZ per burst) and idle ones hold none. At most `max_free`
// are kept open. Single-threaded (the io thread).
class PipePool {
 public:
  PipePool(int pipe_size, std::size_t max_free) : pipe_size_(pipe_size), max_free_(max_free) {}
  Pipe acquire() {
    if (free_.empty()) return Pipe(pipe_size_);
    Pipe pipe(std::move(free_.back()));
    free_.pop_back();
    return pipe;
  }
  // `pipe` must be empty (everything spliced in was spliced out).
  void give_back(Pipe&& pipe) {
    if (pipe.ok() && free_.size() < max_free_) free_.push_back(std::move(pipe));
  }
  std::size_t free_count() const { return free_.size(); }

 private:
  int pipe_size_;
  std::size_t max_free_;
  std::vector<Pipe> free_;
};

}  // namespace vhm::proxy::relay
