// The copying relay of one direction: waits for readability, then reads
// with non-blocking read_some into a pooled buffer (so an idle direction holds
// none), shows the handshake bytes to the parser, holds a SecurityResult back
// while an auth_success gate decides, and switches to splice once the parser
// is done. With VeNCrypt termination it stops where TLS starts (session_tls.cpp
// takes over).
#include <boost/asio/write.hpp>

#include "proxy/gate.hpp"
#include "proxy/session.hpp"

namespace vhm::proxy {

using conf::EventKind;

awaitable<void> Session::pump(tcp::socket& from, tcp::socket& to, rfb::Direction direction) {
  const bool from_client = direction == rfb::Direction::client_to_server;
  std::uint64_t& counter = from_client ? bytes_in_ : bytes_out_;
  for (bool open = true; open && !closing_;) {
    auto [wait_error] = co_await from.async_wait(tcp::socket::wait_read, use_tuple);
    if (wait_error) {
      note_socket_end(from_client, wait_error);
      break;
    }
    // VeNCrypt termination: TLS starts here. The wait consumed nothing, so the
    // bytes now readable (the viewer's ClientHello) stay for the TLS leg.
    if (tls_starting_) break;
    // Once the handshake is over nothing needs the bytes: let the kernel move
    // them (falls back to copying when no pipe can be had).
    if (!parser_ && !closing_ && co_await splice_relay(from, to, from_client)) break;
    auto buffer = services_.buffers.acquire();
    const auto bytes = buffer.bytes();
    for (;;) {
      boost::system::error_code read_error;
      const std::size_t n = from.read_some(asio::buffer(bytes.data(), bytes.size()), read_error);
      if (read_error == asio::error::would_block || read_error == asio::error::try_again) break;
      if (read_error == asio::error::eof) {
        // Half-close: pass the EOF on and keep relaying the other direction.
        note_end(from_client ? DisconnectReason::client_closed : DisconnectReason::server_closed, {});
        boost::system::error_code ignored;
        to.shutdown(tcp::socket::shutdown_send, ignored);
        open = false;
        break;
      }
      if (read_error) {
        fail_socket(from_client, read_error);
        open = false;
        break;
      }
      counter += n;
      // With an auth_success gate, a chunk that starts the SecurityResult is
      // held back from the viewer until the gate decides.
      const bool chunk_starts_result = !from_client && parser_ && parser_->awaiting_security_result();
      if (parser_) observe(direction, bytes.first(n));
      if (closing_) break;
      if (auth_gate_pending_ && !from_client) {
        if (auto to_viewer = co_await settle_auth_gate(chunk_starts_result)) {
          if (!to_viewer->empty()) co_await asio::async_write(to, asio::buffer(*to_viewer), use_tuple);
          close(DisconnectReason::refused, end_detail_);
          break;
        }
        if (closing_) break;
      }
      auto [write_error, written] = co_await asio::async_write(to, asio::buffer(bytes.data(), n), use_tuple);
      if (write_error) {
        fail_socket(!from_client, write_error);
        open = false;
        break;
      }
      if (tls_starting_) {  // that chunk ended with the server's TLS ack: plaintext is over
        open = false;
        break;
      }
      if (n < bytes.size()) break;  // drained for now: give the buffer back while waiting
    }
  }
  if (--running_pumps_ == 0) timer_.cancel();  // both directions done: stop the watchdog
}

}  // namespace vhm::proxy
