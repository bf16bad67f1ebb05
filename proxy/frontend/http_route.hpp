#pragma once
// What the front end answers to one HTTP request (docs/browser-access.md),
// decided without I/O so it can be tested and fuzzed alone: the method, a
// body, the Origin of an upgrade, Basic auth (verified by the caller, off
// the io thread), the token of a WebSocket upgrade, and static files. The
// file system and the token table are reached through RouteLookups.
// front_end.cpp reads the request, verifies credentials, calls route_request
// and then sends the response, the file, or accepts the WebSocket.
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "conf/config.hpp"
#include "proxy/frontend/static_files.hpp"

namespace vhm::proxy::frontend {

namespace http = boost::beast::http;
using HttpRequest = http::request<http::empty_body>;

// The listener's settings the decision depends on.
struct RouteSettings {
  bool web_root = false;         // `web:` is set: static files are served
  bool tokens = false;           // `tokens:` is set: upgrades name a token
  bool token_from_host = false;  // `token_from_host:`
  bool listener_target = false;  // the listener has a target of its own (used when no token is given)
  bool auth_required = false;    // `http_auth:` is set
  std::vector<std::string> origins;  // allowed Origin values; empty: any
};

// The I/O the decision needs.
class RouteLookups {
 public:
  virtual ~RouteLookups() = default;
  virtual StaticResult find_file(std::string_view target, std::string_view if_none_match,
                                 std::string_view if_modified_since) = 0;
  // nullopt: unknown token.
  virtual std::optional<conf::HostPort> find_token(std::string_view token) = 0;
};

enum class RouteKind : std::uint8_t {
  respond,  // a short text response (errors, 401...)
  file,     // file.status ok (200, body unless HEAD) or not_modified (304)
  upgrade,  // accept the WebSocket
};

struct RouteDecision {
  RouteKind kind = RouteKind::respond;
  http::status status = http::status::not_found;
  std::string body;    // respond: the text (one line)
  bool close = false;  // respond: end the connection after it (malformed or unexpected input)
  StaticResult file;   // file: what StaticRoot found (the caller owns file.fd)
  // upgrade:
  std::optional<conf::HostPort> token_target;  // nullopt: the listener's target
  std::string token;                           // redacted form, empty: no token
  std::string subprotocol;                     // "binary" or empty
  std::string origin;                          // the Origin header (printable)
  // For the access log: the path without query, a token in it redacted.
  std::string log_path;
  std::string note;  // why, for the log ("unknown token sha256:...", "Origin not allowed")
};

// `authenticated`: the request carried Basic credentials the caller verified.
// `has_body`: the request announced a body (Content-Length > 0 or chunked).
RouteDecision route_request(const HttpRequest& request, bool has_body, bool authenticated,
                            const RouteSettings& settings, RouteLookups& lookups);

// The `respond` decision as a response: text/plain, WWW-Authenticate with
// 401, Allow with 405, Connection: close when decision.close or !keep_alive.
// HEAD requests get the headers only.
http::response<http::string_body> text_response(const RouteDecision& decision, const HttpRequest& request,
                                                std::string_view realm);

// The headers of a file response (200 or 304): Content-Type, Content-Length,
// ETag, Last-Modified, Cache-Control, X-Content-Type-Options.
void set_file_headers(http::response_header<>& header, const RouteDecision& decision, const HttpRequest& request);

// Replaces every occurrence of `token` in `text` with its redacted form "<sha256:...>".
void redact_everywhere(std::string& text, std::string_view token);
// The path of a request target for log lines: no query, control characters
// escaped, and with `redact_token_segment` the segment requested_token()
// would take as a token replaced by "<sha256:...>" (and that text anywhere else in it).
std::string loggable_path(std::string_view target, bool redact_token_segment);

// The realm as a quoted-string value: quotes, backslashes and controls dropped.
std::string realm_value(std::string_view realm);

}  // namespace vhm::proxy::frontend
