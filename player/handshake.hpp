#pragma once
// The server side of the RFB handshake toward one viewer: "RFB 003.008",
// the viewer's version (3.3, 3.7, 3.8 and their aliases), security None or
// VncAuth, ClientInit, then our ServerInit. A failed login gets a reason the
// viewer can show where the version allows one (3.8).
#include <cstdint>
#include <span>
#include <string>

#include "player/asio.hpp"

namespace vhm::player {

struct HandshakeSettings {
  std::string password;                       // non-empty: VncAuth (2), else None (1)
  std::span<const std::uint8_t> server_init;  // the whole ServerInit message
};

struct HandshakeOutcome {
  bool ok = false;
  std::string version;   // effective, "3.8"
  std::string security;  // "None" or "VncAuth"
  std::string failure;   // why not ok, for the log: "wrong password", "closed the connection during the handshake"...
};

awaitable<HandshakeOutcome> serve_handshake(tcp::socket& socket, const HandshakeSettings& settings);

}  // namespace vhm::player
