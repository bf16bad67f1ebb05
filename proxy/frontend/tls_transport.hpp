#pragma once
// TLS as a Transport (DESIGN.md "The relay"): toward a viewer that wrapped
// RFB in TLS (protocols: tls; the stream was accepted and handshaken by
// front_end.cpp), and toward a target that expects TLS (`target_tls:`,
// websockify's --ssl-target: no certificate verification, as websockify).
// The end of the stream is TLS's close_notify; a peer that closes without
// one (stream_truncated) is an ordinary peer close.
#include <chrono>
#include <memory>
#include <string>

#include "proxy/asio.hpp"
#include "proxy/relay/transport.hpp"

namespace boost::asio::ssl {
template <typename Stream>
class stream;
}  // namespace boost::asio::ssl

namespace vhm::proxy::frontend {

using TlsServerStream = asio::ssl::stream<tcp::socket>;

// A handshaken server-side stream (owns its socket). Bytes already read
// through it while sniffing go in front with relay::PrefixedTransport.
std::unique_ptr<relay::Transport> make_tls_server_transport(TlsServerStream&& stream);

struct TlsClientResult {
  std::unique_ptr<relay::Transport> transport;  // null on failure
  std::string error;                            // "TLS handshake with the target failed: ..."
};

// The client side over the session's connected server socket (borrowed: the
// session keeps owning and closing it). Sends SNI when `server_name` is a DNS
// name; verifies nothing. The handshake is bounded by `timeout` (the socket's
// pending operations are cancelled when it expires).
awaitable<TlsClientResult> make_tls_client_transport(tcp::socket& borrowed, std::string server_name,
                                                     std::chrono::milliseconds timeout);

}  // namespace vhm::proxy::frontend
