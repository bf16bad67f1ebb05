#pragma once
// A relay direction's pipe while bytes move (relay/splice.cpp, the parked
// relay in relay/idle_relay.cpp): taken from the io thread's pool when bytes
// arrive, given back empty when the direction waits, so an idle session holds
// no pipe. A pipe still holding bytes is never given back: it closes with the
// lease.
#include <fcntl.h>

#include <cerrno>
#include <cstddef>
#include <optional>

#include <boost/system/error_code.hpp>

#include "proxy/relay/pipe.hpp"

namespace vhm::proxy::relay {

// One splice(2) asks for this much; the pipe takes what fits.
inline constexpr std::size_t splice_chunk = 1 << 20;
inline constexpr unsigned splice_flags = SPLICE_F_MOVE | SPLICE_F_NONBLOCK;

// What a failed splice(2) or pipe2(2) just left in errno.
inline boost::system::error_code last_splice_error() { return {errno, boost::system::system_category()}; }

// The io thread's pool of empty relay pipes (relay/splice.cpp).
PipePool& relay_pipes();

class PipeLease {
 public:
  bool take() {
    if (!pipe_) pipe_.emplace(relay_pipes().acquire());
    return pipe_->ok();
  }
  void give_back_empty() {
    if (pipe_) relay_pipes().give_back(std::move(*pipe_));
    pipe_.reset();
  }
  Pipe& operator*() { return *pipe_; }
  Pipe* operator->() { return &*pipe_; }

 private:
  std::optional<Pipe> pipe_;
};

}  // namespace vhm::proxy::relay
