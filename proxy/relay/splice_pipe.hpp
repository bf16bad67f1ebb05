#pragma once
// One relay direction's bytes in the kernel, socket -> pipe -> socket, as a
// step that never waits: both splice relays (relay/splice.cpp's coroutine and
// the parked relay's callbacks in relay/idle_relay.cpp) loop over it and wait
// where it says. The pipe comes from the io thread's pool when bytes arrive
// and goes back empty when the source is drained, so an idle direction holds
// no pipe; a pipe still holding bytes is never given back: it closes with
// the object.
#include <cstddef>
#include <cstdint>
#include <optional>

#include <boost/system/error_code.hpp>

#include "proxy/relay/pipe.hpp"

namespace vhm::proxy::relay {

class SplicePipe {
 public:
  enum class Fill {
    filled,   // bytes are in the pipe
    drained,  // the source has nothing now: wait for it to be readable
    eof,      // the source sent its FIN
    no_pipe,  // pipe2(2) failed (the open-files limit): copy instead
    failed,   // the source's error is in `error`
  };
  enum class Drain {
    moved,      // `moved` bytes went out; the pipe may still hold some
    sink_full,  // the sink's buffer is full: wait for it to be writable
    failed,     // the sink's error is in `error`
  };

  bool empty() const { return in_pipe_ == 0; }
  std::size_t in_pipe() const { return in_pipe_; }
  // The pipe must be empty. Counts what comes in; holds no pipe after
  // anything but `filled`.
  Fill fill(int source, std::uint64_t& counter, boost::system::error_code& error);
  // Up to `limit` bytes from the front of the pipe (a tee(2) may have copied
  // only that much so far).
  Drain drain(int sink, std::size_t limit, std::size_t& moved, boost::system::error_code& error);
  // For tee(2): valid while the pipe holds bytes.
  int read_end() const { return pipe_->read_end(); }
  void give_back_empty();

 private:
  std::optional<Pipe> pipe_;
  std::size_t in_pipe_ = 0;
};

}  // namespace vhm::proxy::relay
