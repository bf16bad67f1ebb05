// A tap that falls behind (the recorder's queue or tee pipe) slows down its
// own session's relay, without blocking the thread: the pump waits before
// reading more, the splice before passing bytes the tap has not got yet. The
// wait is bounded: a tap still behind after it (a stalled disk) must do
// without (give_up), and the session's policy for that tap applies.
#include <boost/asio/posix/stream_descriptor.hpp>

#include <cerrno>
#include <cstring>

#include "proxy/session.hpp"

namespace vhm::proxy {

using namespace asio::experimental::awaitable_operators;

namespace {

constexpr auto max_tap_wait = std::chrono::milliseconds(2000);
constexpr auto queue_poll = std::chrono::milliseconds(1);  // a queue has no descriptor to wait on

std::chrono::milliseconds since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start);
}

}  // namespace

bool Session::taps_congested() const {
  return std::any_of(taps_.begin(), taps_.end(), [](const auto& tap) { return tap->congested(); });
}

relay::Tap* Session::teeing_tap(rfb::Direction direction) const {
  for (const auto& tap : taps_)
    if (tap->needs(direction) == relay::Tap::Need::tee) return tap.get();
  return nullptr;
}

awaitable<void> Session::wait_for_taps() {
  asio::steady_timer tick(server_.get_executor());
  const auto started = std::chrono::steady_clock::now();
  for (const auto& tap : taps_) {
    while (!closing_ && tap->congested()) {
      if (const auto waited = since(started); waited >= max_tap_wait) {
        tap->fell_behind(waited);
        break;
      }
      tick.expires_after(queue_poll);
      co_await tick.async_wait(use_tuple);
    }
  }
}

awaitable<std::size_t> Session::tee_to_taps(int pipe_read, std::size_t in_pipe, rfb::Direction direction) {
  const auto started = std::chrono::steady_clock::now();
  for (relay::Tap* tap; !closing_ && (tap = teeing_tap(direction)) != nullptr;) {
    const int fd = tap->tee_fd(direction);
    if (fd < 0) break;
    const ssize_t n = ::tee(pipe_read, fd, in_pipe, SPLICE_F_NONBLOCK);
    if (n > 0) {
      tap->teed(direction, static_cast<std::size_t>(n));
      co_return static_cast<std::size_t>(n);
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno != EAGAIN) {
      tap->give_up(std::string("cannot tee into its pipe: ") + std::strerror(errno));
      break;
    }
    // The tap's pipe is full: wait until it has room (the kernel says so as
    // soon as its reader took some), bounded.
    const auto waited = since(started);
    if (waited >= max_tap_wait) {
      tap->fell_behind(waited);
      break;
    }
    asio::posix::stream_descriptor room(server_.get_executor(), fd);
    asio::steady_timer limit(server_.get_executor());
    limit.expires_after(max_tap_wait - waited);
    co_await (room.async_wait(asio::posix::stream_descriptor::wait_write, use_tuple) || limit.async_wait(use_tuple));
    room.release();  // the tap owns the pipe
  }
  co_return in_pipe;  // not teed (any more): splice it all on
}

}  // namespace vhm::proxy
