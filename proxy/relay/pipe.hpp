#pragma once
// A non-blocking kernel pipe, the buffer of zero-copy relaying: splice(2)
// moves socket bytes through one, tee(2) duplicates them into another (the
// recorder's). Closed with the object.
#include <fcntl.h>
#include <unistd.h>

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
  bool ok() const { return fds_[0] >= 0; }
  int read_end() const { return fds_[0]; }
  int write_end() const { return fds_[1]; }

 private:
  int fds_[2];
};

}  // namespace vhm::proxy::relay
