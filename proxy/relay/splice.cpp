// The relay once nothing needs the bytes in user space: splice(2) moves them
// socket -> pipe -> socket inside the kernel, so the proxy neither copies
// them nor holds a buffer for them (a stalled viewer's backlog sits in the
// pipe and the socket buffers). When the recorder records this direction, it
// gets its copy by tee(2) into its own pipe, still without a copy here: the
// recorder's writer thread reads that pipe. Same contract as the copying
// pump: half-close on EOF, any error ends both directions, counters exact.
#include "proxy/relay/splice_pipe.hpp"
#include "proxy/session.hpp"

namespace vhm::proxy {

awaitable<Session::SpliceEnd> Session::splice_relay(tcp::socket& from, tcp::socket& to, rfb::Direction direction) {
  using Fill = relay::SplicePipe::Fill;
  using Drain = relay::SplicePipe::Drain;
  const bool from_client = direction == rfb::Direction::client_to_server;
  std::uint64_t& counter = from_client ? bytes_in_ : bytes_out_;
  relay::SplicePipe pipe;
  std::size_t teed = 0;  // bytes at the front of the pipe the recorder has (or does not want)
  boost::system::error_code error;
  while (!closing_) {
    if (pipe.empty()) {
      // Between chunks: a tap may want this direction copied again.
      if (!splice_allowed(direction)) {
        pipe.give_back_empty();
        co_return SpliceEnd::copy_again;
      }
      switch (pipe.fill(from.native_handle(), counter, error)) {
        case Fill::filled:
          teed = 0;
          break;
        case Fill::drained: {  // idle: no pipe is held while waiting
          if (park_now(direction)) co_return SpliceEnd::parked;
          idle_wait_[index(direction)] = &from;
          auto [wait_error] = co_await from.async_wait(tcp::socket::wait_read, use_tuple);
          idle_wait_[index(direction)] = nullptr;
          if (parks_after_wait(direction)) co_return SpliceEnd::parked;
          if (!wait_error) continue;
          note_socket_end(from_client, wait_error);
          co_return SpliceEnd::done;
        }
        case Fill::eof:
          pass_eof(from_client, to);
          co_return SpliceEnd::done;
        case Fill::no_pipe:  // nothing is in flight: the copying relay goes on
          co_return SpliceEnd::no_pipe;
        case Fill::failed:
          fail_socket(from_client, error);
          co_return SpliceEnd::done;
      }
    }
    // tee(2) copies from the front of the pipe, so it runs only when
    // everything teed before has been spliced out.
    if (teed == 0)
      teed = teeing_tap(direction) ? co_await tee_to_taps(pipe.read_end(), pipe.in_pipe(), direction) : pipe.in_pipe();
    if (closing_) break;
    std::size_t moved = 0;
    switch (pipe.drain(to.native_handle(), teed, moved, error)) {
      case Drain::moved:
        teed -= moved;
        break;
      case Drain::sink_full: {  // backpressure
        auto [wait_error] = co_await to.async_wait(tcp::socket::wait_write, use_tuple);
        if (!wait_error) break;
        note_socket_end(!from_client, wait_error);
        co_return SpliceEnd::done;
      }
      case Drain::failed:
        fail_socket(!from_client, error);
        co_return SpliceEnd::done;
    }
  }
  co_return SpliceEnd::done;
}

// EOF from one side: the other learns it (FIN) and this direction is over;
// the other direction goes on.
void Session::pass_eof(bool from_client, tcp::socket& to) {
  note_end(from_client ? DisconnectReason::client_closed : DisconnectReason::server_closed, {});
  boost::system::error_code ignored;
  to.shutdown(tcp::socket::shutdown_send, ignored);
}

}  // namespace vhm::proxy
