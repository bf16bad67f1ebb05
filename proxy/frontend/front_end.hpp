#pragma once
// The front end of a listener (docs/browser-access.md): what happens between
// accept() and the session when a listener speaks more than plain RFB. In
// order: a PROXY protocol header from a trusted sender (the real client
// address), then sniffing the first bytes (a TLS record, "GET ", or silence
// for sniff_timeout, which means raw RFB: in RFB the server speaks first),
// TLS, and for HTTP the request loop: static files from `web:`, 404 for the
// rest, and a WebSocket upgrade (token, Origin, Basic auth, X-Forwarded-For
// from trusted proxies) that hands the session its transport. Everything is
// bounded in time and size; a connection that is no VNC session ends here
// with a log line and never becomes a session.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "conf/config.hpp"
#include "proxy/asio.hpp"
#include "proxy/relay/transport.hpp"

namespace vhm::proxy::frontend {

// Who the viewer is and how it came, for the session's fields and policy.
struct ViewerOrigin {
  tcp::endpoint peer;  // the real client: PROXY header, trusted X-Forwarded-For, else the socket's peer
  std::string transport = "tcp";  // {transport}: tcp, tls, ws, wss
  std::optional<conf::HostPort> token_target;  // the token's target; nullopt: the listener's target
  std::string token;      // {token}: the token's redacted form (never the token), empty: none
  std::string http_user;  // {http_user}: HTTP Basic user that authenticated
  std::string origin;     // {origin}: the browser's Origin header
  std::string cert_user;  // client certificate CN (else first DNS SAN): becomes {user}
};

struct Accepted {
  std::unique_ptr<relay::Transport> transport;
  ViewerOrigin origin;
};

class FrontEnd;

// Per listener state: the TLS context (reloaded from its files on SIGHUP), the
// token table, the htpasswd table, the static file root. Built by create()
// at start and on every reload; sessions keep the one they began with.
std::shared_ptr<FrontEnd> make_front_end(const conf::ListenerConfig& config, std::string& error);

// Runs the front end on an accepted connection. nullopt: it was no session
// (static files served, HTTP refused, TLS failed, PROXY header wrong...),
// already logged and closed. `listen_text` names the listener in log lines
// (by value: the coroutine outlives the caller's expression).
awaitable<std::optional<Accepted>> accept_viewer(std::shared_ptr<FrontEnd> front_end, tcp::socket socket,
                                                 std::string listen_text);

}  // namespace vhm::proxy::frontend
