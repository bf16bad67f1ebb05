#pragma once
// What the first bytes of a connection are, sslh-style: pure, no I/O
// (front_end.cpp waits for them). In RFB the server speaks first, so a viewer
// that says nothing is a raw RFB viewer; anything else that is neither a TLS
// ClientHello nor an HTTP GET is handed to the RFB session too (the scanner
// shield and the parser deal with it).
#include <cstdint>
#include <span>

namespace vhm::proxy::frontend {

enum class Sniffed : std::uint8_t {
  need_more,  // a prefix of "GET " or of a TLS record header: wait for more (bounded by the caller)
  tls,        // a TLS handshake record (0x16 0x03 0x00..0x04)
  http,       // "GET " (the only method a browser opens a WebSocket or fetches noVNC with)
  other,      // anything else: raw RFB bytes (or garbage) for the session
};

Sniffed sniff(std::span<const std::uint8_t> first_bytes);

}  // namespace vhm::proxy::frontend
