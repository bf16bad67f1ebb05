#pragma once
// WebSocket as a Transport (RFC 6455, what noVNC and websockify speak):
// every write is one binary message, reads hand out the payload bytes of
// binary messages as they come, whatever the framing. A text frame ends the
// connection with 1003 ("WebSocket: text frame"), an unmasked frame with
// 1002, a message over `max_message` with 1009 (Beast answers those two).
// Pings keep idle sessions alive and find dead ones. Backpressure is the
// relay's: it reads only after its previous write finished, and the
// transport buffers nothing of its own; with no compression and no write
// buffer an idle session holds about 2 KiB of Beast state here.
// The Beast websocket templates live in ws_transport.cpp alone.
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/message.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "proxy/asio.hpp"
#include "proxy/frontend/tls_transport.hpp"
#include "proxy/relay/transport.hpp"

namespace vhm::proxy::frontend {

struct WsSettings {
  std::chrono::milliseconds handshake_timeout{30'000};  // the opening and the closing handshake
  std::chrono::milliseconds heartbeat{30'000};          // ping after this much silence; 0: no pings
  std::optional<std::chrono::milliseconds> idle_timeout;  // nullopt: 2 x heartbeat (none without heartbeat)
  std::uint64_t max_message = 16u << 20;
  std::string subprotocol;  // "binary" or empty: the Sec-WebSocket-Protocol answer
};

struct WsAcceptResult {
  std::unique_ptr<relay::Transport> transport;  // null on failure
  std::string error;
};

using UpgradeRequest = boost::beast::http::request<boost::beast::http::empty_body>;

// Answers the upgrade (101) on the connection the request came on and
// returns the "ws" / "wss" transport.
awaitable<WsAcceptResult> accept_websocket(tcp::socket&& socket, const UpgradeRequest& request,
                                           const WsSettings& settings);
awaitable<WsAcceptResult> accept_websocket(TlsServerStream&& stream, const UpgradeRequest& request,
                                           const WsSettings& settings);

// The error a read returns after a text frame (the close with 1003 is under way).
const boost::system::error_code& text_frame_error();

}  // namespace vhm::proxy::frontend
