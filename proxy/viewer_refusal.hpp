#pragma once
// Refusing a viewer in RFB's own words, with no server involved: the proxy
// sends its version, reads the viewer's, and answers with a connection
// failure carrying `reason`, which every viewer shows to its user (noVNC
// too: over a WebSocket the exchange is the same). Bounded by `limit` so a
// silent client cannot hold the connection; the transport is closed after.
#include <chrono>
#include <string>

#include "proxy/asio.hpp"
#include "proxy/relay/transport.hpp"

namespace vhm::proxy {

awaitable<void> refuse_viewer(relay::Transport& viewer, std::string reason, std::chrono::steady_clock::duration limit);

}  // namespace vhm::proxy
