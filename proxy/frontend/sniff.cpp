#include "proxy/frontend/sniff.hpp"

#include <algorithm>
#include <string_view>

namespace vhm::proxy::frontend {

Sniffed sniff(std::span<const std::uint8_t> first_bytes) {
  if (first_bytes.empty()) return Sniffed::need_more;
  if (first_bytes[0] == 0x16) {
    // A TLS record header starts: content type handshake, then major 3 and
    // minor 0..4 (SSL 3.0 .. TLS 1.3's legacy value; ClientHellos use 1 or 3).
    if (first_bytes.size() < 2) return Sniffed::need_more;
    if (first_bytes[1] != 0x03) return Sniffed::other;
    if (first_bytes.size() < 3) return Sniffed::need_more;
    return first_bytes[2] <= 0x04 ? Sniffed::tls : Sniffed::other;
  }
  constexpr std::string_view get = "GET ";
  const std::size_t n = std::min(first_bytes.size(), get.size());
  for (std::size_t i = 0; i < n; ++i)
    if (first_bytes[i] != static_cast<std::uint8_t>(get[i])) return Sniffed::other;
  return n == get.size() ? Sniffed::http : Sniffed::need_more;
}

}  // namespace vhm::proxy::frontend
