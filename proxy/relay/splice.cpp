// The relay after the handshake: splice(2) moves bytes socket -> pipe ->
// socket inside the kernel, so the proxy neither copies them nor holds a
// user-space buffer for them (a stalled viewer's backlog sits in the pipe and
// the socket buffers). Same contract as the copying pump: half-close on EOF,
// any error ends both directions, counters stay exact.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

#include "proxy/session.hpp"

namespace vhm::proxy {
namespace {

class Pipe {
 public:
  Pipe() {
    if (::pipe2(fds_, O_NONBLOCK | O_CLOEXEC) != 0) {
      fds_[0] = fds_[1] = -1;
      return;
    }
    // Fewer, larger moves per wake-up; best effort (capped by pipe-max-size).
    ::fcntl(fds_[1], F_SETPIPE_SZ, 256 * 1024);
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

constexpr std::size_t splice_chunk = 1 << 20;  // the pipe takes what fits (64 KiB by default)
constexpr unsigned splice_flags = SPLICE_F_MOVE | SPLICE_F_NONBLOCK;

boost::system::error_code last_error() { return {errno, boost::system::system_category()}; }

}  // namespace

awaitable<bool> Session::splice_relay(tcp::socket& from, tcp::socket& to, bool from_client) {
  Pipe pipe;
  if (!pipe.ok()) co_return false;
  std::uint64_t& counter = from_client ? bytes_in_ : bytes_out_;
  std::size_t in_pipe = 0;
  while (!closing_) {
    if (in_pipe == 0) {
      const ssize_t n = ::splice(from.native_handle(), nullptr, pipe.write_end(), nullptr, splice_chunk, splice_flags);
      if (n == 0) {  // EOF: pass it on, keep the other direction going
        note_end(from_client ? DisconnectReason::client_closed : DisconnectReason::server_closed, {});
        boost::system::error_code ignored;
        to.shutdown(tcp::socket::shutdown_send, ignored);
        co_return true;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && errno == EAGAIN) {
        auto [error] = co_await from.async_wait(tcp::socket::wait_read, use_tuple);
        if (error) {
          note_socket_end(from_client, error);
          co_return true;
        }
        continue;
      }
      if (n < 0) {
        fail_socket(from_client, last_error());
        co_return true;
      }
      in_pipe = static_cast<std::size_t>(n);
      counter += in_pipe;
    }
    while (in_pipe > 0 && !closing_) {
      const ssize_t m = ::splice(pipe.read_end(), nullptr, to.native_handle(), nullptr, in_pipe, splice_flags);
      if (m > 0) {
        in_pipe -= static_cast<std::size_t>(m);
        continue;
      }
      if (m < 0 && errno == EINTR) continue;
      if (m < 0 && errno == EAGAIN) {  // the peer's socket is full: backpressure
        auto [error] = co_await to.async_wait(tcp::socket::wait_write, use_tuple);
        if (error) {
          note_socket_end(!from_client, error);
          co_return true;
        }
        continue;
      }
      fail_socket(!from_client, m < 0 ? last_error() : boost::system::error_code(asio::error::broken_pipe));
      co_return true;
    }
  }
  co_return true;
}

}  // namespace vhm::proxy
