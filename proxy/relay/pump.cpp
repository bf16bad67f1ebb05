// The relay of one direction, for every pair of legs (proxy/relay/legs.hpp:
// plain TCP, or any Transport such as TLS and WebSocket front ends, or the
// TLS of VeNCrypt termination inside one): read a chunk, show it to the
// handshake parser while the handshake lasts and to the taps after it, hold a
// SecurityResult back while an auth_success gate decides, write it, count
// it. How a direction ends depends on the legs: plain TCP on both passes a
// half-close on and keeps the other direction going; anything else has no
// half-close, so there the first end ends the session. Plain TCP on both legs
// switches to splice once nothing needs the bytes. The relay before VeNCrypt
// termination stops where TLS starts (session_tls.cpp takes over).
#include "util/log.hpp"

#include <boost/asio/ssl/stream.hpp>

#include "proxy/gate.hpp"
#include "proxy/relay/legs.hpp"
#include "proxy/session.hpp"
#include "tls/error_text.hpp"

namespace vhm::proxy {

template <typename From, typename To>
awaitable<void> Session::pump(From& from, To& to, rfb::Direction direction) {
  constexpr bool plain_relay = From::plain && To::plain;
  const bool from_client = direction == rfb::Direction::client_to_server;
  const bool inner = tls_running_;  // the relay inside VeNCrypt's TLS
  std::uint64_t& counter = from_client ? bytes_in_ : bytes_out_;
  while (!closing_ && !tls_ending_) {
    // A plain leg waits for readiness here, without a coroutine frame of its
    // own (an idle session waits in this spot); a stream leg's read waits itself.
    boost::system::error_code wait_error;
    if constexpr (From::plain) {
      if (!from.holding_bytes()) {
        if (park_now(direction)) break;  // relay/idle_relay.cpp carries the session on
        idle_wait_[index(direction)] = &from.socket();
        std::tie(wait_error) = co_await from.socket().async_wait(tcp::socket::wait_read, use_tuple);
        idle_wait_[index(direction)] = nullptr;
        if (parks_after_wait(direction)) break;
      }
    }
    if (wait_error) {
      if constexpr (plain_relay)
        note_socket_end(from_client, wait_error);
      else
        co_await end_stream_relay(from_client, wait_error, from, to);
      break;
    }
    // VeNCrypt termination: TLS starts here. The wait consumed nothing, so
    // the bytes now readable (the viewer's ClientHello) stay for the TLS leg.
    if (!inner && tls_starting_) break;
    if constexpr (plain_relay) {
      // Nothing needs the bytes any more: let the kernel move them (falls
      // back to copying when no pipe can be had).
      if (!parser_ && !closing_ && splice_allowed(direction)) {
        const auto end = co_await splice_relay(from.socket(), to.socket(), direction);
        if (end == SpliceEnd::done || end == SpliceEnd::parked) break;
      }
    }
    relay::ReadResult read;
    if constexpr (From::plain)
      read = from.read_now();
    else
      read = co_await from.read();
    if (!read.error && read.bytes.empty()) continue;  // drained for now
    if (read.error) {
      if constexpr (!plain_relay) {
        co_await end_stream_relay(from_client, read.error, from, to);
      } else if (read.error == asio::error::eof) {
        // Half-close: pass the EOF on and keep relaying the other direction.
        note_end(from_client ? DisconnectReason::client_closed : DisconnectReason::server_closed, {});
        co_await to.end();
      } else {
        fail_socket(from_client, read.error);
      }
      break;
    }
    if (!inner && tls_starting_) {
      // A stream leg's read took the first TLS bytes: they go to the TLS engine.
      tls_prefix_[from_client ? 0 : 1].assign(read.bytes.begin(), read.bytes.end());
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
        if (!to_viewer->empty()) co_await to.write(*to_viewer);
        close(DisconnectReason::refused, end_detail_);
        break;
      }
      if (closing_) break;
    }
    // A plain leg writes here, without a coroutine frame per chunk.
    relay::WriteResult write_result{};
    if (!out.empty()) {
      if constexpr (To::plain)
        write_result = co_await asio::async_write(to.socket(), asio::buffer(out.data(), out.size()), use_tuple);
      else
        write_result = co_await to.write(out);
    }
    const auto [write_error, written] = write_result;
    from.chunk_done();
    if (write_error) {
      if constexpr (plain_relay) {
        fail_socket(!from_client, write_error);
      } else if (write_error != asio::error::operation_aborted) {
        note_leg_error(!from_client, to.ending(write_error), to.describe(write_error));
        close(end_reason_.value_or(DisconnectReason::client_closed), end_detail_);
      }
      break;
    }
    if (!inner && tls_starting_) break;  // that chunk ended with the server's TLS ack: plaintext is over
    if (taps_congested()) co_await wait_for_taps();  // backpressure from the recorder, bounded
  }
  if (!parked_[index(direction)]) direction_ended_[index(direction)] = true;
  --running_pumps_;
}

void Session::note_leg_error(bool client_side, relay::Transport::Ending ending, const std::string& detail) {
  const auto side = client_side ? DisconnectReason::client_closed : DisconnectReason::server_closed;
  const std::string leg = client_side ? "viewer leg: " : "server leg: ";
  switch (ending) {
    case relay::Transport::Ending::peer_closed:
      note_end(side, {});
      break;
    case relay::Transport::Ending::broken:
      note_end(side, detail);
      break;
    case relay::Transport::Ending::tls_error:
      note_end(DisconnectReason::tls_error, leg + detail);
      break;
    case relay::Transport::Ending::protocol_error:
      note_end(DisconnectReason::protocol_error, leg + detail);
      break;
  }
}

// A direction of a relay without half-close ended: the session ends. The
// other leg learns it in order (close_notify, a WebSocket Close frame, FIN),
// not waiting long for its answer (the other direction's read may consume it).
template <typename From, typename To>
awaitable<void> Session::end_stream_relay(bool from_client, const boost::system::error_code& error, From& from,
                                          To& to) {
  if (error == asio::error::operation_aborted || closing_ || tls_ending_) co_return;  // close() already said why
  tls_ending_ = true;
  note_leg_error(from_client, from.ending(error), from.describe(error));
  using namespace asio::experimental::awaitable_operators;
  asio::steady_timer grace(server_.get_executor());
  grace.expires_after(std::chrono::seconds(1));
  co_await (to.end() || grace.async_wait(use_tuple));
  close(end_reason_.value_or(from_client ? DisconnectReason::client_closed : DisconnectReason::server_closed),
        end_detail_);
}

using relay::StreamLeg;
using relay::TcpLeg;
using relay::Transport;
template awaitable<void> Session::pump(TcpLeg&, TcpLeg&, rfb::Direction);
template awaitable<void> Session::pump(StreamLeg<Transport>&, TcpLeg&, rfb::Direction);
template awaitable<void> Session::pump(TcpLeg&, StreamLeg<Transport>&, rfb::Direction);
template awaitable<void> Session::pump(StreamLeg<Transport>&, StreamLeg<Transport>&, rfb::Direction);
template awaitable<void> Session::pump(StreamLeg<TlsStream>&, StreamLeg<TlsStream>&, rfb::Direction);
template awaitable<void> Session::pump(StreamLeg<TlsStream>&, StreamLeg<Transport>&, rfb::Direction);
template awaitable<void> Session::pump(StreamLeg<Transport>&, StreamLeg<TlsStream>&, rfb::Direction);

}  // namespace vhm::proxy
