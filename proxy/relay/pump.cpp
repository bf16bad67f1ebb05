// The relay of one direction, for every pair of legs (plain TCP, terminated
// TLS): read a chunk, show it to the handshake parser while the handshake
// lasts and to the taps after it, hold a SecurityResult back while an
// auth_success gate decides, write it, count it. How a direction ends depends
// on the legs: plain TCP passes a half-close on and keeps the other direction
// going; TLS has no half-close, so there the first end ends the session.
// Plain TCP on both legs switches to splice once nothing needs the bytes, and
// stops where VeNCrypt termination starts TLS (session_tls.cpp takes over).
#include <spdlog/spdlog.h>

#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/write.hpp>

#include "proxy/gate.hpp"
#include "proxy/relay/legs.hpp"
#include "proxy/session.hpp"
#include "tls/error_text.hpp"

namespace vhm::proxy {

namespace {

template <typename Leg>
SSL* ssl_of(Leg& leg) {
  if constexpr (Leg::is_tls)
    return leg.stream().native_handle();
  else
    return nullptr;
}

}  // namespace

template <typename From, typename To>
awaitable<void> Session::pump(From& from, To& to, rfb::Direction direction) {
  constexpr bool tls_relay = From::is_tls || To::is_tls;
  const bool from_client = direction == rfb::Direction::client_to_server;
  std::uint64_t& counter = from_client ? bytes_in_ : bytes_out_;
  while (!closing_ && !tls_ending_) {
    if (auto wait_error = co_await from.wait_readable()) {
      if constexpr (tls_relay)
        co_await end_tls_relay(from_client, wait_error, to.stream());
      else
        note_socket_end(from_client, wait_error);
      break;
    }
    if constexpr (!tls_relay) {
      // VeNCrypt termination: TLS starts here. The wait consumed nothing, so
      // the bytes now readable (the viewer's ClientHello) stay for the TLS leg.
      if (tls_starting_) break;
      // Nothing needs the bytes any more: let the kernel move them (falls
      // back to copying when no pipe can be had).
      if (!parser_ && !closing_ && splice_allowed(direction) &&
          co_await splice_relay(from.stream(), to.stream(), direction) == SpliceEnd::done)
        break;
    }
    relay::ReadResult read;
    if constexpr (From::is_tls)
      read = co_await from.read();
    else
      read = from.read_now();
    if (!read.error && read.bytes.empty()) continue;  // drained for now
    if (read.error) {
      if constexpr (tls_relay) {
        co_await end_tls_relay(from_client, read.error, to.stream());
      } else if (read.error == asio::error::eof) {
        // Half-close: pass the EOF on and keep relaying the other direction.
        note_end(from_client ? DisconnectReason::client_closed : DisconnectReason::server_closed, {});
        boost::system::error_code ignored;
        to.stream().shutdown(tcp::socket::shutdown_send, ignored);
      } else {
        fail_socket(from_client, read.error);
      }
      break;
    }
    const auto bytes = read.bytes;
    counter += bytes.size();
    // With an auth_success gate, a chunk that starts the SecurityResult is
    // held back from the viewer until the gate decides.
    const bool chunk_starts_result = !from_client && parser_ && parser_->awaiting_security_result();
    const auto out = show_to_taps(direction, bytes);  // the tracker may drop or rewrite
    if (closing_) break;
    if (auth_gate_pending_ && !from_client) {
      if (auto to_viewer = co_await settle_auth_gate(chunk_starts_result)) {
        if (!to_viewer->empty()) co_await asio::async_write(to.stream(), asio::buffer(*to_viewer), use_tuple);
        close(DisconnectReason::refused, end_detail_);
        break;
      }
      if (closing_) break;
    }
    auto [write_error, written] = out.empty() ? std::tuple<boost::system::error_code, std::size_t>{}
                                              : co_await asio::async_write(to.stream(), asio::buffer(out.data(), out.size()), use_tuple);
    from.chunk_done();
    if (write_error) {
      if constexpr (tls_relay) {
        if (write_error != asio::error::operation_aborted) {
          const bool to_client = !from_client;
          if (tls::is_peer_close(write_error) || ssl_of(to) == nullptr)
            note_end(to_client ? DisconnectReason::client_closed : DisconnectReason::server_closed,
                     tls::describe_error(write_error));
          else
            note_end(DisconnectReason::tls_error, std::string(to_client ? "viewer" : "server") + " leg: " +
                                                      tls::describe_error(write_error, ssl_of(to)));
        }
        close(end_reason_.value_or(DisconnectReason::tls_error), end_detail_);
      } else {
        fail_socket(!from_client, write_error);
      }
      break;
    }
    if constexpr (!tls_relay) {
      if (tls_starting_) break;  // that chunk ended with the server's TLS ack: plaintext is over
    }
    if (taps_congested()) co_await wait_for_taps();  // backpressure from the recorder, bounded
  }
  if (--running_pumps_ == 0) timer_.cancel();  // both directions done: stop the watchdog
}

awaitable<relay::ReadResult> relay::TlsLeg::read() {
  auto [error, n] = co_await stream_.async_read_some(asio::buffer(buffer_), use_tuple);
  if (error) co_return ReadResult{error, {}};
  co_return ReadResult{{}, std::span<const std::uint8_t>(buffer_.data(), n)};
}

template <typename To>
awaitable<void> Session::end_tls_relay(bool from_client, const boost::system::error_code& error, To& to) {
  if (error == asio::error::operation_aborted || closing_ || tls_ending_) co_return;  // close() already said why
  tls_ending_ = true;
  const auto side = from_client ? DisconnectReason::client_closed : DisconnectReason::server_closed;
  if (tls::is_peer_close(error))
    note_end(side, error == asio::error::eof || error == asio::ssl::error::stream_truncated
                       ? std::string()
                       : tls::describe_error(error));
  else
    note_end(DisconnectReason::tls_error,
             std::string(from_client ? "viewer" : "server") + " leg: " + tls::describe_error(error));
  // The other leg learns that the session is over: close_notify, not waiting
  // long for its answer (the other direction's read may consume it).
  if constexpr (std::is_same_v<To, TlsStream>) {
    using namespace asio::experimental::awaitable_operators;
    asio::steady_timer grace(to.get_executor());
    grace.expires_after(std::chrono::seconds(1));
    co_await (to.async_shutdown(use_tuple) || grace.async_wait(use_tuple));
  } else {
    boost::system::error_code ignored;
    to.shutdown(tcp::socket::shutdown_send, ignored);
  }
  close(end_reason_.value_or(side), end_detail_);
}

template awaitable<void> Session::pump(relay::TcpLeg&, relay::TcpLeg&, rfb::Direction);
template awaitable<void> Session::pump(relay::TlsLeg&, relay::TlsLeg&, rfb::Direction);
template awaitable<void> Session::pump(relay::TlsLeg&, relay::TcpLeg&, rfb::Direction);
template awaitable<void> Session::pump(relay::TcpLeg&, relay::TlsLeg&, rfb::Direction);

}  // namespace vhm::proxy
