#include "proxy/frontend/forwarded.hpp"

#include "proxy/frontend/ip_literal.hpp"

namespace vhm::proxy::frontend {
namespace {

// One hop of the chain: its address, or nullopt when it cannot be read
// (obfuscated "_x", "unknown", garbage).
using Hop = std::optional<IpLiteral>;

std::string_view trim_ows(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

bool is_port(std::string_view text) {
  if (text.empty() || text.size() > 5) return false;
  unsigned value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
    value = value * 10 + static_cast<unsigned>(c - '0');
  }
  return value <= 65535;
}

// "192.0.2.1", "192.0.2.1:443", "2001:db8::1", "[2001:db8::1]", "[2001:db8::1]:443".
// `obfuscated_port`: RFC 7239's node-port may be "_abc" too.
Hop parse_node(std::string_view text, bool obfuscated_port) {
  auto port_ok = [&](std::string_view port) {
    return is_port(port) || (obfuscated_port && port.size() > 1 && port[0] == '_');
  };
  if (!text.empty() && text.front() == '[') {
    const std::size_t close = text.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    const std::string_view rest = text.substr(close + 1);
    if (!rest.empty() && (rest[0] != ':' || !port_ok(rest.substr(1)))) return std::nullopt;
    auto address = parse_ip_literal(text.substr(1, close - 1));
    if (!address || text.substr(1, close - 1).find(':') == std::string_view::npos) return std::nullopt;  // [v4] is no form
    return address;
  }
  const std::size_t colon = text.find(':');
  if (colon != std::string_view::npos && text.find(':', colon + 1) == std::string_view::npos) {
    // One colon: IPv4 with a port (an IPv6 literal has at least two).
    if (!port_ok(text.substr(colon + 1))) return std::nullopt;
    auto address = parse_ip_literal(text.substr(0, colon));
    if (!address || !address->ipv4) return std::nullopt;
    return address;
  }
  return parse_ip_literal(text);
}

std::vector<Hop> x_forwarded_for_hops(std::string_view header) {
  std::vector<Hop> hops;
  std::size_t start = 0;
  while (true) {
    const std::size_t comma = header.find(',', start);
    hops.push_back(parse_node(trim_ows(header.substr(start, comma - start)), false));
    if (comma == std::string_view::npos) return hops;
    start = comma + 1;
  }
}

// RFC 7230 quoted-string at the start of `text` (which starts with '"'):
// the unescaped value and the rest after the closing quote; nullopt if unterminated.
std::optional<std::pair<std::string, std::string_view>> quoted_string(std::string_view text) {
  std::string value;
  for (std::size_t i = 1; i < text.size(); ++i) {
    if (text[i] == '"') return std::pair{value, text.substr(i + 1)};
    if (text[i] == '\\') {
      if (++i == text.size()) return std::nullopt;
    }
    value += text[i];
  }
  return std::nullopt;
}

// Forwarded: forwarded-element *( "," forwarded-element ), each element
// pairs separated by ";", values tokens or quoted strings. A hop is the
// element's one `for=` (case-insensitive name); an element without one, with
// two, or that does not parse is an unreadable hop.
std::vector<Hop> forwarded_hops(std::string_view header) {
  std::vector<Hop> hops;
  std::string for_value;  // the element's `for=` when for_count is 1 (no optional: GCC 12 warns wrongly)
  int for_count = 0;
  bool element_ok = true;
  auto end_element = [&] {
    hops.push_back(element_ok && for_count == 1 ? parse_node(for_value, true) : std::nullopt);
    for_value.clear();
    for_count = 0;
    element_ok = true;
  };
  std::string_view rest = header;
  while (true) {
    rest = trim_ows(rest);
    // One pair: name "=" value, up to ";" or "," (or the end).
    const std::size_t equals = rest.find_first_of("=;,");
    if (equals == std::string_view::npos || rest[equals] != '=') {
      // A pair without "=" (or an empty one): malformed unless it is an empty element's end.
      const std::size_t stop = rest.find_first_of(";,");
      if (!trim_ows(rest.substr(0, stop)).empty()) element_ok = false;
      if (stop == std::string_view::npos) break;
      if (rest[stop] == ',') end_element();
      rest.remove_prefix(stop + 1);
      continue;
    }
    const std::string_view name = trim_ows(rest.substr(0, equals));
    std::string_view after = rest.substr(equals + 1);
    while (!after.empty() && (after.front() == ' ' || after.front() == '\t')) after.remove_prefix(1);
    std::string value;
    if (!after.empty() && after.front() == '"') {
      auto quoted = quoted_string(after);
      if (!quoted) {
        element_ok = false;
        break;
      }
      value = std::move(quoted->first);
      after = trim_ows(quoted->second);
      if (!after.empty() && after.front() != ';' && after.front() != ',') element_ok = false;
    } else {
      const std::size_t stop = after.find_first_of(";,");
      value = std::string(trim_ows(after.substr(0, stop)));
      after = after.substr(stop == std::string_view::npos ? after.size() : stop);
    }
    if (name.size() == 3 && (name[0] | 0x20) == 'f' && (name[1] | 0x20) == 'o' && (name[2] | 0x20) == 'r') {
      for_value = value;
      ++for_count;
    }
    const std::size_t stop = after.find_first_of(";,");
    if (stop == std::string_view::npos) break;
    if (after[stop] == ',') end_element();
    rest = after.substr(stop + 1);
  }
  end_element();
  return hops;
}

}  // namespace

std::optional<std::string> forwarded_client(std::string_view peer, std::string_view forwarded,
                                            std::string_view x_forwarded_for,
                                            const std::vector<conf::Cidr>& trusted) {
  const auto peer_address = parse_ip_literal(peer);
  if (!peer_address || !in_blocks(*peer_address, trusted)) return std::nullopt;
  std::vector<Hop> hops;
  if (!trim_ows(forwarded).empty())
    hops = forwarded_hops(forwarded);
  else if (!trim_ows(x_forwarded_for).empty())
    hops = x_forwarded_for_hops(x_forwarded_for);
  // From the right: each trusted hop vouches for the one on its left. The
  // first untrusted address is the client; an unreadable hop ends the walk
  // (what lies left of it is unverified), leaving the leftmost trusted one.
  std::optional<IpLiteral> leftmost_trusted;
  for (auto hop = hops.rbegin(); hop != hops.rend(); ++hop) {
    if (!*hop) break;
    if (!in_blocks(**hop, trusted)) return ip_text(**hop);
    leftmost_trusted = **hop;
  }
  if (leftmost_trusted) return ip_text(*leftmost_trusted);
  return std::nullopt;
}

}  // namespace vhm::proxy::frontend
