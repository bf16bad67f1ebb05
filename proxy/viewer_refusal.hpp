#pragma once
// Refusing a viewer in RFB's own words, with no server involved: the proxy
// sends its version, reads the viewer's, and answers with a connection
// failure carrying `reason`, which every viewer shows to its user. Bounded by
// `limit` so a silent client cannot hold the socket.
#include <chrono>
#include <string>

#include "proxy/asio.hpp"

namespace vhm::proxy {

awaitable<void> refuse_viewer(tcp::socket& socket, std::string reason, std::chrono::steady_clock::duration limit);

}  // namespace vhm::proxy
