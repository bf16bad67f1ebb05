#include "conf/webhook_url.hpp"

#include <arpa/inet.h>
#include <openssl/evp.h>

#include <algorithm>
#include <cctype>
#include <charconv>

#include "conf/placeholders.hpp"

namespace vhm::conf {
namespace {

bool starts_with_nocase(std::string_view text, std::string_view prefix) {
  return text.size() >= prefix.size() &&
         std::equal(prefix.begin(), prefix.end(), text.begin(),
                    [](char a, char b) { return std::tolower(static_cast<unsigned char>(a)) == b; });
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::optional<std::string> percent_decode(std::string_view text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '%') {
      out += text[i];
      continue;
    }
    if (i + 2 >= text.size() || hex_value(text[i + 1]) < 0 || hex_value(text[i + 2]) < 0) return std::nullopt;
    out += static_cast<char>(hex_value(text[i + 1]) * 16 + hex_value(text[i + 2]));
    i += 2;
  }
  return out;
}

// RFC 1123 host name: labels of letters, digits and '-', dot separated.
bool is_host_name(std::string_view host) {
  if (host.empty() || host.size() > 253) return false;
  std::size_t label = 0;
  for (std::size_t i = 0; i <= host.size(); ++i) {
    if (i == host.size() || host[i] == '.') {
      if (label == 0 && i != host.size()) return false;  // empty label (a trailing dot is fine)
      if (label > 63) return false;
      label = 0;
      continue;
    }
    const char c = host[i];
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-') return false;
    ++label;
  }
  return true;
}

// Characters a request target may carry as written: printable ASCII but space.
bool plain_target_text(std::string_view text) {
  return std::all_of(text.begin(), text.end(), [](char c) {
    const auto byte = static_cast<unsigned char>(c);
    return byte > 0x20 && byte < 0x7f;
  });
}

}  // namespace

std::optional<WebhookUrl> parse_webhook_url(std::string_view text, std::string& error) {
  WebhookUrl url;
  if (starts_with_nocase(text, "https://")) {
    url.tls = true;
    text.remove_prefix(8);
  } else if (starts_with_nocase(text, "http://")) {
    text.remove_prefix(7);
  } else {
    error = "url must start with http:// or https://";
    return std::nullopt;
  }
  if (!plain_target_text(text)) {
    error = "url must not contain spaces, control characters or non-ASCII bytes (percent-encode them)";
    return std::nullopt;
  }
  if (text.find('#') != std::string_view::npos) {
    error = "url must not have a #fragment (it is never sent)";
    return std::nullopt;
  }
  const std::size_t authority_end = std::min(text.find('/'), text.find('?'));
  std::string_view authority = text.substr(0, authority_end);
  std::string_view rest = authority_end == std::string_view::npos ? std::string_view{} : text.substr(authority_end);
  if (!find_placeholders(authority).empty()) {
    error = "url: {placeholders} may only stand in the path and query, not in the host, port or user-info";
    return std::nullopt;
  }
  if (const auto at = authority.rfind('@'); at != std::string_view::npos) {
    auto decoded = percent_decode(authority.substr(0, at));
    if (!decoded || decoded->empty()) {
      error = "url: the user-info before '@' is empty or badly percent-encoded";
      return std::nullopt;
    }
    url.userinfo = std::move(*decoded);
    authority.remove_prefix(at + 1);
  }
  std::string_view port_text;
  if (!authority.empty() && authority.front() == '[') {
    const auto close = authority.find(']');
    if (close == std::string_view::npos) {
      error = "url: an IPv6 host needs its closing ']'";
      return std::nullopt;
    }
    url.host = std::string(authority.substr(1, close - 1));
    in6_addr ignored;
    if (inet_pton(AF_INET6, url.host.c_str(), &ignored) != 1) {
      error = "url: the host in [...] is not an IPv6 address";
      return std::nullopt;
    }
    const auto after = authority.substr(close + 1);
    if (!after.empty() && after.front() != ':') {
      error = "url: expected ':port' after the IPv6 host";
      return std::nullopt;
    }
    if (!after.empty()) port_text = after.substr(1);
    if (after.size() == 1) port_text = "?";  // "[::1]:" is as wrong as "host:"
  } else {
    const auto colon = authority.find(':');
    url.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) port_text = colon + 1 < authority.size() ? authority.substr(colon + 1) : "?";
    if (url.host.empty()) {
      error = "url has no host";
      return std::nullopt;
    }
    if (!is_host_name(url.host)) {
      error = "url: the host must be a DNS name, an IPv4 address or [IPv6]";
      return std::nullopt;
    }
    if (url.host.back() == '.') url.host.pop_back();
  }
  url.port = url.tls ? 443 : 80;
  if (!port_text.empty()) {
    unsigned value = 0;
    const auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), value);
    if (ec != std::errc() || end != port_text.data() + port_text.size() || value == 0 || value > 65535) {
      error = "url: the port must be a number from 1 to 65535";
      return std::nullopt;
    }
    url.port = static_cast<std::uint16_t>(value);
  }
  if (rest.empty())
    url.target = "/";
  else if (rest.front() == '?')
    url.target = "/" + std::string(rest);
  else
    url.target = std::string(rest);
  return url;
}

std::string basic_authorization(std::string_view userinfo) {
  std::string encoded(4 * ((userinfo.size() + 2) / 3) + 1, '\0');
  const int length = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(encoded.data()),
                                     reinterpret_cast<const unsigned char*>(userinfo.data()),
                                     static_cast<int>(userinfo.size()));
  encoded.resize(static_cast<std::size_t>(std::max(length, 0)));
  return "Basic " + encoded;
}

}  // namespace vhm::conf
