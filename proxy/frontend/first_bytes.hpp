#pragma once
// The first bytes of an accepted connection, before anything consumes them:
// a PROXY protocol header (read to its last byte and no further) and what the
// stream after it is (sniff.hpp on a MSG_PEEK, so the bytes stay for TLS,
// HTTP or the RFB session). Both bounded in time.
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "proxy/asio.hpp"
#include "proxy/frontend/proxy_protocol.hpp"

namespace vhm::proxy::frontend {

// nullopt with `why` (no header in time, invalid, too long, closed).
awaitable<std::optional<ProxyHeader>> read_proxy_header(tcp::socket& socket, std::chrono::milliseconds limit,
                                                        std::string& why);

enum class First : std::uint8_t { tls, http, other, silence, closed };

// A TLS record, "GET ", other bytes, silence for `timeout`, or the peer left.
// A partial "GE" waits for more (polled) until the timeout, then is `other`.
awaitable<First> sniff_plain(tcp::socket& socket, std::chrono::milliseconds timeout);

}  // namespace vhm::proxy::frontend
