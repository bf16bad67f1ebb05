#include "admin/admin_routes.hpp"

#include <openssl/crypto.h>
#include <openssl/sha.h>

#include <array>
#include <boost/json.hpp>
#include <optional>

#include "control/protocol.hpp"
#include "util/printable.hpp"
#include "util/utf8_text.hpp"

namespace vhm::admin {
namespace json = boost::json;
namespace {

enum class Route { metrics, healthz, readyz, sessions, session_item, bans, ban_item, unknown };

struct Match {
  Route route = Route::unknown;
  std::string_view argument;  // the {id} / {address} part, still percent-encoded
};

Match match_path(std::string_view path) {
  if (path == "/metrics") return {Route::metrics, {}};
  if (path == "/healthz") return {Route::healthz, {}};
  if (path == "/readyz") return {Route::readyz, {}};
  if (path == "/sessions") return {Route::sessions, {}};
  if (path == "/bans") return {Route::bans, {}};
  constexpr std::string_view sessions_prefix = "/sessions/";
  constexpr std::string_view bans_prefix = "/bans/";
  // A session id is one path segment; a ban key may hold a '/' ("192.0.2.0/24").
  if (path.starts_with(sessions_prefix) && path.size() > sessions_prefix.size() &&
      path.find('/', sessions_prefix.size()) == std::string_view::npos)
    return {Route::session_item, path.substr(sessions_prefix.size())};
  if (path.starts_with(bans_prefix) && path.size() > bans_prefix.size())
    return {Route::ban_item, path.substr(bans_prefix.size())};
  return {};
}

bool is_collection(Route route) { return route != Route::session_item && route != Route::ban_item; }

bool needs_token(Route route, const AccessRules& access) {
  switch (route) {
    case Route::metrics:
    case Route::healthz:
    case Route::readyz: return access.metrics_need_token;
    default: return true;
  }
}

// The credentials of "Authorization: Bearer <token>"; nullopt when the
// header is absent or another scheme. The scheme is case-insensitive (RFC 7235).
std::optional<std::string_view> bearer_token(const Request& request) {
  const auto found = request.find(http::field::authorization);
  if (found == request.end()) return std::nullopt;
  std::string_view value = found->value();
  constexpr std::string_view scheme = "bearer";
  if (value.size() <= scheme.size() || (value[scheme.size()] != ' ' && value[scheme.size()] != '\t'))
    return std::nullopt;
  for (std::size_t i = 0; i < scheme.size(); ++i)
    if ((value[i] | 0x20) != scheme[i]) return std::nullopt;
  value.remove_prefix(scheme.size());
  const auto first = value.find_first_not_of(" \t");
  if (first == std::string_view::npos) return std::nullopt;
  value.remove_prefix(first);
  return value.substr(0, value.find_last_not_of(" \t") + 1);
}

Response make_response(http::status status, unsigned version, bool keep_alive, std::string_view content_type,
                       std::string body) {
  Response response{status, version};
  response.set(http::field::content_type, content_type);
  response.set(http::field::cache_control, "no-store");
  response.set("X-Content-Type-Options", "nosniff");
  response.body() = std::move(body);
  response.keep_alive(keep_alive);
  response.prepare_payload();
  return response;
}

std::string json_text(const json::value& value) { return json::serialize(value) + "\n"; }

// Peer text in a message: escaped like a log line, and valid UTF-8 for JSON.
std::string safe_text(std::string_view text) { return util::valid_utf8(util::printable(text, 400)); }

std::string error_body(std::string_view message) { return json_text(json::object{{"error", safe_text(message)}}); }

Response json_response(const Request& request, http::status status, const json::value& value) {
  return make_response(status, request.version(), request.keep_alive(), "application/json", json_text(value));
}

Response json_error(const Request& request, http::status status, std::string_view message) {
  return make_response(status, request.version(), request.keep_alive(), "application/json", error_body(message));
}

Response text_response(const Request& request, http::status status, std::string body) {
  return make_response(status, request.version(), request.keep_alive(), "text/plain; charset=utf-8", std::move(body));
}

std::string_view allowed_methods(Route route) { return is_collection(route) ? "GET, HEAD" : "DELETE"; }

bool method_allowed(Route route, http::verb method) {
  if (is_collection(route)) return method == http::verb::get || method == http::verb::head;
  return method == http::verb::delete_;
}

// The request line as a log shows it: method and path, escaped and bounded.
std::string describe(const Request& request) {
  return util::printable(request.method_string(), 16) + " " + util::printable(request.target(), 200);
}

// nullopt when the request carries the configured token; else the refusal.
std::optional<Outcome> refusal(const Request& request, const AccessRules& access) {
  if (access.token.empty())
    return Outcome{json_error(request, http::status::forbidden,
                              "this endpoint needs a bearer token and none is configured: set admin.token_file"),
                   {}};
  const auto given = bearer_token(request);
  if (given && same_secret(*given, access.token)) return std::nullopt;
  Response response = json_error(request, http::status::unauthorized,
                                 given ? "wrong bearer token" : "missing bearer token (Authorization: Bearer <token>)");
  response.set(http::field::www_authenticate,
               given ? R"(Bearer realm="vnc-hooks-manager", error="invalid_token")"
                     : R"(Bearer realm="vnc-hooks-manager")");
  return Outcome{std::move(response), describe(request) + ": refused (" + (given ? "wrong" : "no") + " bearer token)"};
}

Outcome command_outcome(const Request& request, const control::CommandResult& result) {
  std::string audit = describe(request) + ": " + util::printable(result.message, 200);
  if (!result.ok) return {json_error(request, http::status::not_found, result.message), std::move(audit)};
  return {json_response(request, http::status::ok, json::object{{"message", safe_text(result.message)}}),
          std::move(audit)};
}

Outcome delete_item(const Request& request, Route route, std::string_view encoded, Backend& backend) {
  std::string argument;
  if (!percent_decode(encoded, argument))
    return {json_error(request, http::status::bad_request,
                       "bad percent-encoding in " + util::printable(request.target(), 200)),
            {}};
  auto& control = backend.control();
  if (route == Route::session_item) return command_outcome(request, control.kill(argument));
  return command_outcome(request, control.unban(argument));
}

Response route_response(const Request& request, Route route, Backend& backend) {
  switch (route) {
    case Route::metrics:
      return make_response(http::status::ok, request.version(), request.keep_alive(),
                           "text/plain; version=0.0.4; charset=utf-8", backend.metrics_text());
    case Route::healthz: return text_response(request, http::status::ok, "ok\n");
    case Route::readyz:
      switch (backend.readiness()) {
        case Readiness::ready: return text_response(request, http::status::ok, "ready\n");
        case Readiness::starting: return text_response(request, http::status::service_unavailable, "starting\n");
        case Readiness::stopping: return text_response(request, http::status::service_unavailable, "shutting down\n");
      }
      break;
    case Route::sessions: {
      json::array rows;
      for (const auto& row : backend.control().sessions()) rows.push_back(control::session_to_json(row));
      return json_response(request, http::status::ok, rows);
    }
    case Route::bans: {
      json::array rows;
      for (const auto& row : backend.control().bans()) rows.push_back(control::ban_to_json(row));
      return json_response(request, http::status::ok, rows);
    }
    default: break;
  }
  return json_error(request, http::status::internal_server_error, "no response for this route");
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

bool percent_decode(std::string_view text, std::string& out) {
  out.clear();
  for (std::size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '%') {
      if (i + 2 >= text.size()) return false;
      const int high = hex_value(text[i + 1]);
      const int low = hex_value(text[i + 2]);
      if (high < 0 || low < 0) return false;
      c = static_cast<char>(high * 16 + low);
      i += 2;
    }
    if (c == '\0') return false;
    out += c;
  }
  return true;
}

bool same_secret(std::string_view given, std::string_view expected) {
  std::array<unsigned char, SHA256_DIGEST_LENGTH> a{};
  std::array<unsigned char, SHA256_DIGEST_LENGTH> b{};
  SHA256(reinterpret_cast<const unsigned char*>(given.data()), given.size(), a.data());
  SHA256(reinterpret_cast<const unsigned char*>(expected.data()), expected.size(), b.data());
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

Response error_response(http::status status, std::string_view message, unsigned version) {
  return make_response(status, version, false, "application/json", error_body(message));
}

namespace {

Outcome route_request(const Request& request, const AccessRules& access, Backend& backend) {
  const std::string_view target = request.target();
  if (target.empty() || target.front() != '/') {
    Response response = json_error(request, http::status::bad_request,
                                   "the request target must be a path such as /sessions (origin-form)");
    return {std::move(response), {}};
  }
  const std::string_view path = target.substr(0, target.find('?'));
  const Match match = match_path(path);
  if (match.route == Route::unknown)
    return {json_error(request, http::status::not_found,
                       "no endpoint " + util::printable(path, 200) +
                           " (there are /metrics, /healthz, /readyz, /sessions, /bans)"),
            {}};
  if (needs_token(match.route, access))
    if (auto refused = refusal(request, access)) return std::move(*refused);
  if (!method_allowed(match.route, request.method())) {
    Response response = json_error(request, http::status::method_not_allowed,
                                   "method " + util::printable(request.method_string(), 16) + " is not allowed on " +
                                       util::printable(path, 200) + " (allowed: " +
                                       std::string(allowed_methods(match.route)) + ")");
    response.set(http::field::allow, allowed_methods(match.route));
    return {std::move(response), {}};
  }
  if (!is_collection(match.route)) return delete_item(request, match.route, match.argument, backend);

  return {route_response(request, match.route, backend), {}};
}

}  // namespace

Outcome handle_request(const Request& request, const AccessRules& access, Backend& backend) {
  Outcome outcome = route_request(request, access, backend);
  if (request.method() == http::verb::head) {
    // HEAD: the headers GET would get, Content-Length included, never a body
    // (errors too: a body would be read as the next response).
    const auto length = outcome.response.body().size();
    outcome.response.body().clear();
    outcome.response.content_length(length);
  }
  return outcome;
}

}  // namespace vhm::admin
