// One direction of the relay between terminated TLS legs (or a TLS viewer leg
// and a plain server leg): reads decrypted bytes, shows them to the parser
// while the handshake lasts, holds a SecurityResult back while an
// auth_success gate decides (as the copying pump does), and writes them to
// the other leg, which encrypts them again. No splice: each leg has its own
// keys. Each direction keeps one 16 KiB buffer (one TLS record); the
// readiness-then-read trick of the copying pump cannot work here because
// OpenSSL may hold decrypted bytes the socket no longer shows.
//
// TLS has no half-close, so the first direction to end ends the session:
// the other leg gets a close_notify (bounded wait) and both sockets close.
#include <spdlog/spdlog.h>

#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/write.hpp>

#include <vector>

#include "proxy/gate.hpp"
#include "proxy/session.hpp"
#include "tls/error_text.hpp"

namespace vhm::proxy {

using conf::EventKind;
using namespace asio::experimental::awaitable_operators;

namespace {

constexpr std::size_t tls_chunk = 16 * 1024;
constexpr auto close_notify_wait = std::chrono::seconds(1);

template <typename Stream>
SSL* ssl_of(Stream& stream) {
  if constexpr (std::is_same_v<Stream, TlsStream>)
    return stream.native_handle();
  else
    return nullptr;
}

}  // namespace

template <typename From, typename To>
awaitable<void> Session::tls_pump(From& from, To& to, rfb::Direction direction) {
  const bool from_client = direction == rfb::Direction::client_to_server;
  std::uint64_t& counter = from_client ? bytes_in_ : bytes_out_;
  std::vector<std::uint8_t> buffer(tls_chunk);
  while (!closing_ && !tls_ending_) {
    auto [read_error, n] = co_await from.async_read_some(asio::buffer(buffer), use_tuple);
    if (read_error) {
      co_await end_tls_relay(from_client, read_error, to);
      break;
    }
    counter += n;
    const std::span<const std::uint8_t> bytes(buffer.data(), n);
    const bool chunk_starts_result = !from_client && parser_ && parser_->awaiting_security_result();
    if (parser_) observe(direction, bytes);
    if (closing_) break;
    if (auth_gate_pending_ && !from_client) {
      if (auto to_viewer = co_await settle_auth_gate(chunk_starts_result)) {
        if (!to_viewer->empty()) co_await asio::async_write(to, asio::buffer(*to_viewer), use_tuple);
        close(DisconnectReason::refused, end_detail_);
        break;
      }
      if (closing_) break;
    }
    auto [write_error, written] = co_await asio::async_write(to, asio::buffer(bytes.data(), bytes.size()), use_tuple);
    if (write_error) {
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
      break;
    }
  }
  if (--running_pumps_ == 0) timer_.cancel();  // both directions done: stop the watchdog
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
    asio::steady_timer grace(to.get_executor());
    grace.expires_after(close_notify_wait);
    co_await (to.async_shutdown(use_tuple) || grace.async_wait(use_tuple));
  } else {
    boost::system::error_code ignored;
    to.shutdown(tcp::socket::shutdown_send, ignored);
  }
  close(end_reason_.value_or(side), end_detail_);
}

template awaitable<void> Session::tls_pump<TlsStream, TlsStream>(TlsStream&, TlsStream&, rfb::Direction);
template awaitable<void> Session::tls_pump<TlsStream, tcp::socket>(TlsStream&, tcp::socket&, rfb::Direction);
template awaitable<void> Session::tls_pump<tcp::socket, TlsStream>(tcp::socket&, TlsStream&, rfb::Direction);

}  // namespace vhm::proxy
