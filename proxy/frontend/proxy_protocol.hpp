#pragma once
// The PROXY protocol header (haproxy's proxy-protocol.txt, v1 text and v2
// binary) that a load balancer puts in front of the stream to pass on the real
// client address. Pure: front_end.cpp reads the bytes and calls this until it
// says ok or invalid. Only senders in `proxy_protocol:` may use it (and then
// must); for anyone else the bytes are just the stream.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>

namespace vhm::proxy::frontend {

struct ProxyHeader {
  std::size_t length = 0;  // bytes of the header, to consume
  // The client's address (IPv4/IPv6 literal) and port; nullopt for LOCAL
  // (v2 health checks) and UNKNOWN (v1): the socket's peer stands.
  std::optional<std::string> source_address;
  std::uint16_t source_port = 0;
};

enum class ProxyParse : std::uint8_t { ok, need_more, invalid };

struct ProxyParseResult {
  ProxyParse status = ProxyParse::need_more;
  ProxyHeader header;  // when ok
  std::string error;   // when invalid: for the log ("v1: bad port", "v2: unsupported family")
};

// v1 lines are at most 107 bytes, v2 headers at most 16 + 65535 (TLVs are
// skipped; callers may cap lower: 16 + 536 is plenty for addresses + TLVs).
inline constexpr std::size_t proxy_header_max = 16 + 65535;

ProxyParseResult parse_proxy_header(std::span<const std::uint8_t> bytes);

}  // namespace vhm::proxy::frontend
