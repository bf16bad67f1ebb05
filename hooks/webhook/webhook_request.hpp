#pragma once
// One webhook request for one event: the configured templates with each
// placeholder escaped for where it stands, so an event value (a desktop name,
// a user name: peer-controlled text) can never change the request's shape.
//   url path/query: percent-encoded (RFC 3986 unreserved characters kept);
//   JSON body, inside a string: JSON-escaped (invalid UTF-8 becomes U+FFFD);
//   JSON body, outside a string: a number stays a number, empty is null,
//     anything else becomes a JSON string;
//   text body: as is;
//   header values: a value with a control character fails the request.
// Pure: no sockets, no clock, no logging.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "conf/config.hpp"
#include "hooks/event.hpp"

namespace vhm::hooks {

struct WebhookRequest {
  std::string method;
  bool tls = false;
  std::string host;  // name or IP literal, IPv6 without brackets
  std::uint16_t port = 0;
  std::string target;  // path and query, ready for the request line
  std::vector<std::pair<std::string, std::string>> headers;  // configured ones plus Content-Type
  std::string body;  // empty for GET/DELETE without a configured body
};

// nullopt and `error` (which never quotes a value: header values are often
// secrets) when a header value would carry a control character.
std::optional<WebhookRequest> build_webhook_request(const conf::WebhookConfig& config, const Event& event,
                                                    std::string& error);

// A reply body's first line as a gate's answer: control characters dropped,
// invalid UTF-8 replaced, at most 200 bytes (never a split character).
std::string reply_first_line(std::string_view body);

// The escapers, one per place a value can stand.
std::string percent_encode(std::string_view value);
std::string json_string_content(std::string_view value);  // without the quotes
std::string json_bare_value(std::string_view value);       // a value outside any string
bool is_json_number(std::string_view text);

}  // namespace vhm::hooks
