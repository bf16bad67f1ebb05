#include "proxy/frontend/proxy_protocol.hpp"

#include <algorithm>
#include <string_view>
#include <vector>

#include "proxy/frontend/ip_literal.hpp"

namespace vhm::proxy::frontend {
namespace {

constexpr std::string_view v1_start = "PROXY ";
constexpr std::size_t v1_max = 107;  // the longest line, CRLF included (proxy-protocol.txt 2.1)
constexpr std::uint8_t v2_signature[12] = {0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A};

ProxyParseResult proxy_invalid(std::string why) { return {ProxyParse::invalid, {}, std::move(why)}; }

ProxyParseResult proxy_ok(std::size_t length, std::optional<IpLiteral> source, std::uint16_t port) {
  ProxyParseResult result;
  result.status = ProxyParse::ok;
  result.header.length = length;
  if (source) {
    result.header.source_address = ip_text(*source);
    result.header.source_port = port;
  }
  return result;
}

// True when the first bytes equal the start of `expected` (as far as both go).
bool starts_like(std::span<const std::uint8_t> bytes, std::span<const std::uint8_t> expected) {
  const std::size_t n = std::min(bytes.size(), expected.size());
  return std::equal(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(n), expected.begin());
}

// "0".."65535" in decimal, no sign, no leading zero.
std::optional<std::uint16_t> v1_port(std::string_view text) {
  if (text.empty() || text.size() > 5 || (text.size() > 1 && text[0] == '0')) return std::nullopt;
  unsigned value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + static_cast<unsigned>(c - '0');
  }
  if (value > 65535) return std::nullopt;
  return static_cast<std::uint16_t>(value);
}

std::vector<std::string_view> v1_fields(std::string_view line) {
  std::vector<std::string_view> fields;
  std::size_t start = 0;
  while (true) {
    const std::size_t space = line.find(' ', start);
    fields.push_back(line.substr(start, space - start));
    if (space == std::string_view::npos) return fields;
    start = space + 1;
  }
}

ProxyParseResult parse_v1(std::span<const std::uint8_t> bytes) {
  const std::string_view text(reinterpret_cast<const char*>(bytes.data()), std::min(bytes.size(), v1_max));
  const std::size_t lf = text.find('\n');
  if (lf == std::string_view::npos)
    return bytes.size() < v1_max ? ProxyParseResult{} : proxy_invalid("v1: no CRLF within 107 bytes");
  if (lf == 0 || text[lf - 1] != '\r') return proxy_invalid("v1: line not ended by CRLF");
  const std::string_view line = text.substr(0, lf - 1);
  const std::size_t length = lf + 1;
  const auto fields = v1_fields(line);
  if (fields.size() >= 2 && fields[1] == "UNKNOWN") return proxy_ok(length, std::nullopt, 0);  // the rest is ignored
  if (fields.size() < 2 || (fields[1] != "TCP4" && fields[1] != "TCP6"))
    return proxy_invalid("v1: protocol is not TCP4, TCP6 or UNKNOWN");
  if (fields.size() != 6) return proxy_invalid("v1: expected 4 fields after the protocol, single spaces");
  const bool v4 = fields[1] == "TCP4";
  const auto source = parse_ip_literal(fields[2]);
  const auto destination = parse_ip_literal(fields[3]);
  // Families as written: a TCP4 line with an IPv6 literal is malformed.
  const bool written_v4 = fields[2].find(':') == std::string_view::npos;
  const bool dest_written_v4 = fields[3].find(':') == std::string_view::npos;
  if (!source || written_v4 != v4) return proxy_invalid(v4 ? "v1: bad IPv4 source address" : "v1: bad IPv6 source address");
  if (!destination || dest_written_v4 != v4)
    return proxy_invalid(v4 ? "v1: bad IPv4 destination address" : "v1: bad IPv6 destination address");
  const auto source_port = v1_port(fields[4]);
  if (!source_port || !v1_port(fields[5])) return proxy_invalid("v1: bad port");
  return proxy_ok(length, source, *source_port);
}

ProxyParseResult parse_v2(std::span<const std::uint8_t> bytes) {
  if (bytes.size() < 16) return {};
  const std::uint8_t version = bytes[12] >> 4, command = bytes[12] & 0x0f;
  if (version != 2) return proxy_invalid("v2: version is not 2");
  if (command > 1) return proxy_invalid("v2: command is neither LOCAL nor PROXY");
  const std::uint8_t family = bytes[13] >> 4, transport = bytes[13] & 0x0f;
  // LOCAL's family is ignored (proxy-protocol.txt 2.2); PROXY's must be one of the seven defined.
  if (command == 1 && family > 3) return proxy_invalid("v2: unknown address family");
  if (command == 1 && transport > 2) return proxy_invalid("v2: unknown transport protocol");
  const std::size_t address_length = std::size_t{bytes[14]} << 8 | bytes[15];
  const std::size_t length = 16 + address_length;
  // Length, family and transport are checked before waiting for the rest, so
  // a sender that declares garbage is refused without waiting for it.
  static constexpr std::size_t block_size[4] = {0, 12, 36, 216};  // UNSPEC, INET, INET6, UNIX
  if (command == 1 && (family == 0) != (transport == 0))
    return proxy_invalid("v2: UNSPEC only goes with UNSPEC");
  if (command == 1 && address_length < block_size[family]) return proxy_invalid("v2: address block too short");
  if (bytes.size() < length) return {};
  // LOCAL (health checks): the connection's own endpoints stand, as for
  // UNSPEC, UNIX and datagram families (proxy-protocol.txt 2.2: receivers
  // fall back to UNSPEC for combinations they do not use).
  if (command == 0 || transport != 1 || family == 0 || family == 3) return proxy_ok(length, std::nullopt, 0);
  const std::uint8_t* block = bytes.data() + 16;
  if (family == 1) return proxy_ok(length, ipv4_literal(block), static_cast<std::uint16_t>(block[8] << 8 | block[9]));
  return proxy_ok(length, ipv6_literal(block), static_cast<std::uint16_t>(block[32] << 8 | block[33]));
}

}  // namespace

ProxyParseResult parse_proxy_header(std::span<const std::uint8_t> bytes) {
  if (bytes.empty()) return {};
  const std::span<const std::uint8_t> v1_bytes(reinterpret_cast<const std::uint8_t*>(v1_start.data()), v1_start.size());
  if (bytes[0] == 'P') {
    if (!starts_like(bytes, v1_bytes)) return proxy_invalid("no PROXY protocol header");
    return bytes.size() < v1_start.size() ? ProxyParseResult{} : parse_v1(bytes);
  }
  if (!starts_like(bytes, v2_signature)) return proxy_invalid("no PROXY protocol header");
  return bytes.size() < sizeof v2_signature ? ProxyParseResult{} : parse_v2(bytes);
}

}  // namespace vhm::proxy::frontend
