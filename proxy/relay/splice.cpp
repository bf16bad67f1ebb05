// The relay once nothing needs the bytes in user space: splice(2) moves them
// socket -> pipe -> socket inside the kernel, so the proxy neither copies
// them nor holds a buffer for them (a stalled viewer's backlog sits in the
// pipe and the socket buffers). When the recorder records this direction, it
// gets its copy by tee(2) into its own pipe, still without a copy here: the
// recorder's writer thread reads that pipe. Same contract as the copying
// pump: half-close on EOF, any error ends both directions, counters exact.
#include <fcntl.h>

#include <cerrno>
#include <optional>

#include "proxy/relay/pipe_lease.hpp"
#include "proxy/session.hpp"

namespace vhm::proxy {
namespace {

using relay::splice_chunk;
using relay::splice_flags;

// Fewer, larger moves per wake-up.
constexpr int relay_pipe_size = 256 * 1024;
// Empty pipes kept open for the next burst of any session (the io thread's).
constexpr std::size_t spare_pipes = 64;


}  // namespace

relay::PipePool& relay::relay_pipes() {
  thread_local relay::PipePool pool(relay_pipe_size, spare_pipes);
  return pool;
}

awaitable<Session::SpliceEnd> Session::splice_relay(tcp::socket& from, tcp::socket& to, rfb::Direction direction) {
  const bool from_client = direction == rfb::Direction::client_to_server;
  relay::PipeLease pipe;
  if (!pipe.take()) co_return SpliceEnd::no_pipe;
  std::uint64_t& counter = from_client ? bytes_in_ : bytes_out_;
  std::size_t in_pipe = 0;
  std::size_t teed = 0;  // bytes at the front of the pipe the recorder has (or does not want)
  while (!closing_) {
    if (in_pipe == 0) {
      // Between chunks: a tap may want this direction copied again.
      if (!splice_allowed(direction)) {
        pipe.give_back_empty();
        co_return SpliceEnd::copy_again;
      }
      if (!pipe.take()) co_return SpliceEnd::no_pipe;  // nothing is in flight: the copying relay goes on
      const ssize_t n = ::splice(from.native_handle(), nullptr, pipe->write_end(), nullptr, splice_chunk, splice_flags);
      if (n == 0) {  // EOF: pass it on, keep the other direction going
        pipe.give_back_empty();  // a session that only ever saw EOF here made no pipe of its own
        note_end(from_client ? DisconnectReason::client_closed : DisconnectReason::server_closed, {});
        boost::system::error_code ignored;
        to.shutdown(tcp::socket::shutdown_send, ignored);
        co_return SpliceEnd::done;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && errno == EAGAIN) {
        pipe.give_back_empty();  // idle: hold no pipe while waiting
        if (park_now(direction)) co_return SpliceEnd::parked;
        idle_wait_[index(direction)] = &from;
        auto [error] = co_await from.async_wait(tcp::socket::wait_read, use_tuple);
        idle_wait_[index(direction)] = nullptr;
        if (parks_after_wait(direction)) co_return SpliceEnd::parked;
        if (error) {
          note_socket_end(from_client, error);
          co_return SpliceEnd::done;
        }
        continue;
      }
      if (n < 0) {
        const auto error = relay::last_splice_error();
        pipe.give_back_empty();
        fail_socket(from_client, error);
        co_return SpliceEnd::done;
      }
      in_pipe = static_cast<std::size_t>(n);
      counter += in_pipe;
      teed = 0;
    }
    // tee(2) copies from the front of the pipe, so it runs only when
    // everything teed before has been spliced out.
    if (teed == 0) teed = teeing_tap(direction) ? co_await tee_to_taps(pipe->read_end(), in_pipe, direction) : in_pipe;
    if (closing_) break;
    const ssize_t m = ::splice(pipe->read_end(), nullptr, to.native_handle(), nullptr, teed, splice_flags);
    if (m > 0) {
      in_pipe -= static_cast<std::size_t>(m);
      teed -= static_cast<std::size_t>(m);
      continue;
    }
    if (m < 0 && errno == EINTR) continue;
    if (m < 0 && errno == EAGAIN) {  // the peer's socket is full: backpressure
      auto [error] = co_await to.async_wait(tcp::socket::wait_write, use_tuple);
      if (error) {
        note_socket_end(!from_client, error);
        co_return SpliceEnd::done;
      }
      continue;
    }
    fail_socket(!from_client, m < 0 ? relay::last_splice_error() : boost::system::error_code(asio::error::broken_pipe));
    co_return SpliceEnd::done;
  }
  co_return SpliceEnd::done;
}

}  // namespace vhm::proxy
