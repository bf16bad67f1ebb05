#include "conf/redis_url.hpp"

#include <arpa/inet.h>

#include <charconv>

namespace vhm::conf {
namespace {

// Redis ships 16 databases; a server may be configured with more.
constexpr int max_database = 1'000'000;

bool parse_number(std::string_view text, long long max, long long& value) {
  if (text.empty() || text.size() > 10) return false;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  return ec == std::errc{} && end == text.data() + text.size() && value >= 0 && value <= max;
}

bool host_is_clean(std::string_view host) {
  for (const unsigned char c : host)
    if (c <= 0x20 || c >= 0x7f || c == '/' || c == '@' || c == '?' || c == '#' || c == '[' || c == ']') return false;
  return !host.empty();
}

}  // namespace

std::optional<RedisUrl> parse_redis_url(std::string_view text, std::string& error) {
  RedisUrl url;
  if (text.starts_with("redis://")) {
    text.remove_prefix(8);
  } else if (text.starts_with("rediss://")) {
    text.remove_prefix(9);
    url.address.tls = true;
  } else {
    error = "a Redis address starts with redis:// or rediss:// (TLS)";
    return std::nullopt;
  }
  std::string_view authority = text.substr(0, text.find('/'));
  std::string_view path = authority.size() < text.size() ? text.substr(authority.size() + 1) : std::string_view{};
  if (path.find_first_of("?#") != std::string_view::npos || authority.find_first_of("?#") != std::string_view::npos) {
    error = "a Redis URL takes no query or fragment; use the broker's keys (password_file, tls, ...)";
    return std::nullopt;
  }
  if (const auto at = authority.rfind('@'); at != std::string_view::npos) {
    const std::string_view userinfo = authority.substr(0, at);
    authority.remove_prefix(at + 1);
    if (userinfo.find(':') != std::string_view::npos) {
      error = "the URL holds a password: put it in password_file (mode 600) instead";
      return std::nullopt;
    }
    if (userinfo.empty() || !host_is_clean(userinfo)) {
      error = "the user in the URL is empty or has characters a Redis ACL user cannot have";
      return std::nullopt;
    }
    url.user = std::string(userinfo);
  }
  std::string_view host = authority;
  std::string_view port;
  if (authority.starts_with('[')) {
    const auto close = authority.find(']');
    if (close == std::string_view::npos) {
      error = "an IPv6 address in a URL needs its closing ]";
      return std::nullopt;
    }
    host = authority.substr(1, close - 1);
    const auto rest = authority.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') {
        error = "expected :port after the IPv6 address";
        return std::nullopt;
      }
      port = rest.substr(1);
      if (port.empty()) {
        error = "the port after ':' is empty";
        return std::nullopt;
      }
    }
    in6_addr parsed{};
    if (::inet_pton(AF_INET6, std::string(host).c_str(), &parsed) != 1) {
      error = "the text in [ ] is not an IPv6 address";
      return std::nullopt;
    }
  } else if (const auto colon = authority.rfind(':'); colon != std::string_view::npos) {
    host = authority.substr(0, colon);
    port = authority.substr(colon + 1);
    if (port.empty()) {
      error = "the port after ':' is empty";
      return std::nullopt;
    }
    if (host.find(':') != std::string_view::npos) {
      error = "an IPv6 address in a URL goes in brackets: redis://[::1]:6379";
      return std::nullopt;
    }
  }
  if (!host_is_clean(host)) {
    error = host.empty() ? "the URL names no host" : "the host name has characters a host name cannot have";
    return std::nullopt;
  }
  url.address.host = std::string(host);
  if (!port.empty()) {
    long long value = 0;
    if (!parse_number(port, 65535, value) || value == 0) {
      error = "the port must be a number from 1 to 65535";
      return std::nullopt;
    }
    url.address.port = static_cast<std::uint16_t>(value);
  }
  if (!path.empty()) {
    long long value = 0;
    if (!parse_number(path, max_database, value)) {
      error = "the path of a Redis URL is the database number (e.g. /0)";
      return std::nullopt;
    }
    url.address.database = static_cast<int>(value);
  }
  return url;
}

std::string describe(const RedisAddress& address) {
  const bool v6 = address.host.find(':') != std::string::npos;
  return (v6 ? "[" + address.host + "]" : address.host) + ":" + std::to_string(address.port);
}

}  // namespace vhm::conf
