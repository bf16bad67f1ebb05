// The parked relay (session.hpp). Once the handshake is over and nothing
// needs the bytes in user space or the session's time (plain TCP on both
// legs, no tap, no session timer), a relay that goes idle leaves its
// coroutines: both pumps return at their idle points, run() returns, and
// each direction waits for readiness with a callback that holds the session.
// When bytes arrive they are spliced socket -> pipe -> socket until the
// source is drained, as splice_relay() does. An idle session so holds its
// Session object and two pending waits: no coroutine frame, buffer, pipe or
// timer. Same contract as the pumps: half-close on EOF, any error ends both
// directions, counters exact, one `disconnect` when both directions are done.
#include "util/log.hpp"

#include <chrono>
#include <utility>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>

#include "proxy/relay/legs.hpp"
#include "proxy/relay/splice_pipe.hpp"
#include "proxy/session.hpp"

namespace vhm::proxy {
namespace {

// Splices per turn for one direction before other sessions get the io thread.
constexpr int moves_per_turn = 16;

bool from_client(rfb::Direction direction) { return direction == rfb::Direction::client_to_server; }
rfb::Direction other(rfb::Direction direction) {
  return from_client(direction) ? rfb::Direction::server_to_client : rfb::Direction::client_to_server;
}

// At most once a minute: the relay still works, only slower.
void warn_no_pipe(const boost::system::error_code& error) {
  static std::chrono::steady_clock::time_point last_warning{};  // the io thread's
  const auto now = std::chrono::steady_clock::now();
  if (last_warning != std::chrono::steady_clock::time_point{} && now - last_warning < std::chrono::minutes(1)) return;
  last_warning = now;
  spdlog::warn("relay: no pipe for splice ({}): copying through the proxy instead; raise the open-files limit "
               "(LimitNOFILE) for zero-copy relaying",
               error.message());
}

}  // namespace

bool Session::may_park() const {
  return handshake_done_ && !parser_ && !closing_ && !tls_starting_ && !tls_running_ && !auth_gate_pending_ &&
         taps_.empty() && !has_session_timers() && viewer_->plain_socket() && server_stream_ &&
         server_stream_->plain_socket();
}

bool Session::park_now(rfb::Direction direction) {
  if (!may_park()) return false;
  const auto d = index(direction);
  const auto o = 1 - d;
  // The other direction is moving bytes: it parks both once it is idle.
  if (!idle_wait_[o] && !parked_[o] && !direction_ended_[o]) return false;
  parked_[d] = true;
  if (idle_wait_[o]) {
    park_requested_[o] = true;
    boost::system::error_code ignored;
    idle_wait_[o]->cancel(ignored);
  }
  return true;
}

bool Session::parks_after_wait(rfb::Direction direction) {
  const auto d = index(direction);
  if (!std::exchange(park_requested_[d], false) || !may_park()) return false;
  // Woken to park, or readable just before: the parked relay's wait sees
  // readiness at once, so nothing waits longer than one turn.
  parked_[d] = true;
  return true;
}

tcp::socket& Session::source_socket(rfb::Direction direction) {
  return from_client(direction) ? *viewer_->plain_socket() : *server_stream_->plain_socket();
}

void Session::run_parked() {
  fields_.pack();  // unpacked again when an event needs them
  for (const auto direction : {rfb::Direction::server_to_client, rfb::Direction::client_to_server}) {
    if (!std::exchange(parked_[index(direction)], false)) continue;
    ++parked_directions_;
    wait_readable(direction);
  }
}

void Session::wait_readable(rfb::Direction direction) {
  source_socket(direction).async_wait(
      tcp::socket::wait_read, [self = shared_from_this(), direction](const boost::system::error_code& error) {
        if (!error) return self->move_parked(direction);
        self->note_socket_end(from_client(direction), error);
        self->parked_direction_done(direction);
      });
}

void Session::move_parked(rfb::Direction direction) {
  using Fill = relay::SplicePipe::Fill;
  using Drain = relay::SplicePipe::Drain;
  const bool client = from_client(direction);
  tcp::socket& from = source_socket(direction);
  tcp::socket& to = source_socket(other(direction));
  auto& pipe = parked_pipes_[index(direction)];
  std::uint64_t& counter = client ? bytes_in_ : bytes_out_;
  boost::system::error_code error;
  for (int moves = 0; !closing_; ++moves) {
    if (moves == moves_per_turn) {
      asio::post(from.get_executor(), [self = shared_from_this(), direction] { self->move_parked(direction); });
      return;
    }
    if (pipe.empty()) {
      switch (pipe.fill(from.native_handle(), counter, error)) {
        case Fill::filled:
          break;
        case Fill::drained:
          return wait_readable(direction);
        case Fill::eof:
          pass_eof(client, to);
          return parked_direction_done(direction);
        case Fill::no_pipe:
          warn_no_pipe(error);
          return copy_parked(direction);
        case Fill::failed:
          fail_socket(client, error);
          return parked_direction_done(direction);
      }
    }
    std::size_t moved = 0;
    switch (pipe.drain(to.native_handle(), pipe.in_pipe(), moved, error)) {
      case Drain::moved:
        break;
      case Drain::sink_full:  // backpressure
        to.async_wait(tcp::socket::wait_write,
                      [self = shared_from_this(), direction](const boost::system::error_code& wait_error) {
                        if (!wait_error) return self->move_parked(direction);
                        self->note_socket_end(!from_client(direction), wait_error);
                        self->parked_direction_done(direction);
                      });
        return;
      case Drain::failed:
        fail_socket(!client, error);
        return parked_direction_done(direction);
    }
  }
  parked_direction_done(direction);  // closing
}

// No pipe to be had (the descriptor limit): copy through a pooled buffer
// until the source is drained, then wait parked again.
void Session::copy_parked(rfb::Direction direction) {
  co_spawn(server_.get_executor(), copy_until_drained(direction),
           [self = shared_from_this(), direction](std::exception_ptr error) {
             auto& parked = self->parked_[index(direction)];
             if (error) {
               parked = false;
               self->close(DisconnectReason::protocol_error, "internal error in the relay");
             }
             if (std::exchange(parked, false) && !self->closing_) return self->wait_readable(direction);
             self->parked_direction_done(direction);
           });
}

awaitable<void> Session::copy_until_drained(rfb::Direction direction) {
  const bool client = from_client(direction);
  relay::TcpLeg from(source_socket(direction), services_.buffers);
  tcp::socket& to = source_socket(other(direction));
  std::uint64_t& counter = client ? bytes_in_ : bytes_out_;
  while (!closing_) {
    const relay::ReadResult read = from.read_now();
    if (read.error == asio::error::eof) {
      pass_eof(client, to);
      co_return;
    }
    if (read.error) {
      fail_socket(client, read.error);
      co_return;
    }
    if (read.bytes.empty()) {
      parked_[index(direction)] = true;  // drained: wait parked again
      co_return;
    }
    counter += read.bytes.size();
    // Into a local first: GCC 12 miscompiles some bindings taken straight from a co_await.
    relay::WriteResult written{};
    written = co_await asio::async_write(to, asio::buffer(read.bytes.data(), read.bytes.size()), use_tuple);
    from.chunk_done();
    if (const auto error = std::get<0>(written)) {
      fail_socket(!client, error);
      co_return;
    }
  }
}

void Session::parked_direction_done(rfb::Direction) {
  if (--parked_directions_ > 0) return;
  // Both directions are over: the session ends as run() would have ended it.
  try {
    finish();
  } catch (const std::exception& error) {
    spdlog::error("session {}: unexpected error: {}", id(), error.what());
  }
}

}  // namespace vhm::proxy
