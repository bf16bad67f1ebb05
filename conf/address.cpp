#include "conf/address.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <charconv>

#include "util/printable.hpp"

namespace vhm::conf {
namespace {

constexpr std::uint16_t vnc_base_port = 5900;
constexpr unsigned max_display = 99;  // ":N" below 100 is a display, above a port

std::string quoted(std::string_view text) { return "\"" + util::printable(text, 200) + "\""; }

bool all_digits(std::string_view text) {
  if (text.empty()) return false;
  for (char c : text)
    if (c < '0' || c > '9') return false;
  return true;
}

// Port text to a number in [min_port, 65535].
std::optional<std::uint16_t> parse_port(std::string_view text, unsigned min_port, std::string& error) {
  if (text.empty()) {
    error = "missing port after ':'";
    return std::nullopt;
  }
  unsigned value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (!all_digits(text) || end != text.data() + text.size()) {
    error = "port " + quoted(text) + " is not a number";
    return std::nullopt;
  }
  if (ec == std::errc::result_out_of_range || value > 65535 || value < min_port) {
    error = "port " + std::string(text) + " is out of range (" + std::to_string(min_port) + "-65535)";
    return std::nullopt;
  }
  return static_cast<std::uint16_t>(value);
}

// Canonical text of an IP literal of the given family, or nullopt. An IPv6
// literal may carry a zone ("fe80::1%eth0"), which is kept as written.
std::optional<std::string> canonical_ip(std::string_view text, int family) {
  std::string address(text);
  std::string zone;
  if (family == AF_INET6) {
    if (const auto percent = address.find('%'); percent != std::string::npos) {
      zone = address.substr(percent);
      address.resize(percent);
      if (zone.size() < 2) return std::nullopt;
    }
  }
  unsigned char binary[sizeof(in6_addr)];
  if (inet_pton(family, address.c_str(), binary) != 1) return std::nullopt;
  char out[INET6_ADDRSTRLEN];
  if (inet_ntop(family, binary, out, sizeof out) == nullptr) return std::nullopt;
  return std::string(out) + zone;
}

bool is_hostname(std::string_view name) {
  if (name.empty() || name.size() > 253) return false;
  std::size_t label = 0;
  for (std::size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    if (c == '.') {
      if (label == 0) return false;
      label = 0;
      continue;
    }
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
                    c == '_';
    if (!ok || ++label > 63) return false;
  }
  return true;
}

bool looks_numeric(std::string_view host) {
  for (char c : host)
    if (c != '.' && (c < '0' || c > '9')) return false;
  return true;
}

struct Split {
  std::string_view host;
  std::string_view port;
  bool bracketed = false;
};

// "host:port" or "[v6]:port" into its parts; syntax only.
std::optional<Split> split_host_port(std::string_view text, std::string& error) {
  const std::string example = " (expected host:port, [IPv6]:port or :port)";
  if (text.empty()) {
    error = "empty address" + example;
    return std::nullopt;
  }
  Split split;
  if (text.front() == '[') {
    const auto close = text.find(']');
    if (close == std::string_view::npos) {
      error = "missing ']' in " + quoted(text) + example;
      return std::nullopt;
    }
    if (close + 1 >= text.size() || text[close + 1] != ':') {
      error = "expected ':port' after ']' in " + quoted(text) + example;
      return std::nullopt;
    }
    split.host = text.substr(1, close - 1);
    split.port = text.substr(close + 2);
    split.bracketed = true;
    if (split.host.empty()) {
      error = "empty brackets in " + quoted(text) + example;
      return std::nullopt;
    }
    return split;
  }
  const auto colon = text.rfind(':');
  if (colon == std::string_view::npos) {
    error = "missing port in " + quoted(text) + example;
    return std::nullopt;
  }
  if (text.find(':') != colon || text.find_first_of("[]") != std::string_view::npos) {
    error = quoted(text) + " is not host:port; an IPv6 address needs brackets, e.g. [::1]:5900";
    return std::nullopt;
  }
  split.host = text.substr(0, colon);
  split.port = text.substr(colon + 1);
  return split;
}

}  // namespace

std::optional<HostPort> parse_listen_address(std::string_view text, std::string& error) {
  const auto split = split_host_port(text, error);
  if (!split) return std::nullopt;
  // Port 0 lets the kernel choose (tests, and "listening on" tells which).
  const auto port = parse_port(split->port, 0, error);
  if (!port) return std::nullopt;
  HostPort address{{}, *port};
  if (split->bracketed) {
    auto host = canonical_ip(split->host, AF_INET6);
    if (!host) {
      error = quoted(split->host) + " is not an IPv6 address (brackets are only for IPv6)";
      return std::nullopt;
    }
    address.host = std::move(*host);
  } else if (split->host.empty()) {
    // every address
  } else if (split->host == "localhost") {
    address.host = "127.0.0.1";
  } else if (auto host = canonical_ip(split->host, AF_INET)) {
    address.host = std::move(*host);
  } else {
    error = "listen host " + quoted(split->host) +
            " must be an IP address or localhost (use \":" + std::to_string(*port) + "\" for all addresses)";
    return std::nullopt;
  }
  return address;
}

std::optional<HostPort> parse_target_address(std::string_view text, std::string& error) {
  const auto split = split_host_port(text, error);
  if (!split) return std::nullopt;
  if (!split->bracketed && split->host.empty()) {
    // ":N" is display N (port 5900+N) for small N, a port otherwise; always local.
    if (all_digits(split->port) && split->port.size() <= 2) {
      unsigned display = 0;
      std::from_chars(split->port.data(), split->port.data() + split->port.size(), display);
      if (display <= max_display)
        return HostPort{"127.0.0.1", static_cast<std::uint16_t>(vnc_base_port + display)};
    }
    const auto port = parse_port(split->port, 1, error);
    if (!port) return std::nullopt;
    return HostPort{"127.0.0.1", *port};
  }
  const auto port = parse_port(split->port, 1, error);
  if (!port) return std::nullopt;
  if (split->bracketed) {
    auto host = canonical_ip(split->host, AF_INET6);
    if (!host) {
      error = quoted(split->host) + " is not an IPv6 address (brackets are only for IPv6)";
      return std::nullopt;
    }
    return HostPort{std::move(*host), *port};
  }
  if (looks_numeric(split->host)) {
    auto host = canonical_ip(split->host, AF_INET);
    if (!host) {
      error = quoted(split->host) + " is not a valid IPv4 address";
      return std::nullopt;
    }
    return HostPort{std::move(*host), *port};
  }
  if (!is_hostname(split->host)) {
    error = "target host " + quoted(split->host) + " is not a host name or IP address";
    return std::nullopt;
  }
  return HostPort{std::string(split->host), *port};
}

std::string format_host_port(const HostPort& address) {
  const std::string port = std::to_string(address.port);
  if (address.host.find(':') != std::string::npos) return "[" + address.host + "]:" + port;
  return address.host + ":" + port;
}

}  // namespace vhm::conf
