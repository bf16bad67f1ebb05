#pragma once
// A webhook's `url:`, taken apart once at load: http:// or https://, optional
// user-info (sent as Basic authorization), a host name or IP literal, an
// optional port, then path and query, the only part where {placeholders} may
// stand (they are percent-encoded per event). Error texts never quote the URL:
// its user-info, and often its path, are secrets.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace vhm::conf {

struct WebhookUrl {
  bool tls = false;
  std::string host;  // IPv6 without brackets
  std::uint16_t port = 0;
  std::string target = "/";            // path and query, a template
  std::optional<std::string> userinfo;  // "user:password", percent-decoded
};

std::optional<WebhookUrl> parse_webhook_url(std::string_view text, std::string& error);

// "Basic " + base64(userinfo), the Authorization header value for user-info.
std::string basic_authorization(std::string_view userinfo);

}  // namespace vhm::conf
