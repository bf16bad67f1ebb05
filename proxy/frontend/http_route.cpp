#include "proxy/frontend/http_route.hpp"

#include <boost/beast/core/string.hpp>
#include <boost/beast/websocket/rfc6455.hpp>

#include "proxy/frontend/token_table.hpp"
#include "util/printable.hpp"

namespace vhm::proxy::frontend {
namespace {

RouteDecision route_respond(http::status status, std::string body, bool close = false) {
  RouteDecision decision;
  decision.status = status;
  decision.body = std::move(body);
  decision.close = close;
  return decision;
}

std::string_view trim_ows(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

// The subprotocols the browser offers (every Sec-WebSocket-Protocol line).
struct OfferedSubprotocols {
  bool any = false;
  bool binary = false;
  bool base64 = false;
};

OfferedSubprotocols offered_subprotocols(const HttpRequest& request) {
  OfferedSubprotocols offered;
  auto range = request.equal_range(http::field::sec_websocket_protocol);
  for (auto it = range.first; it != range.second; ++it) {
    std::string_view list(it->value().data(), it->value().size());
    while (!list.empty()) {
      const auto comma = list.find(',');
      const auto item = trim_ows(list.substr(0, comma));
      list = comma == std::string_view::npos ? std::string_view() : list.substr(comma + 1);
      if (item.empty()) continue;
      offered.any = true;
      if (boost::beast::iequals(item, "binary")) offered.binary = true;
      if (boost::beast::iequals(item, "base64")) offered.base64 = true;
    }
  }
  return offered;
}

bool origin_allowed(std::string_view origin, const std::vector<std::string>& allowed) {
  if (allowed.empty()) return true;
  for (const auto& value : allowed)
    if (boost::beast::iequals(origin, value)) return true;
  return false;
}

std::string_view header_value(const HttpRequest& request, http::field field) {
  auto it = request.find(field);
  return it == request.end() ? std::string_view() : std::string_view(it->value().data(), it->value().size());
}

RouteDecision route_upgrade(const HttpRequest& request, const RouteSettings& settings, RouteLookups& lookups) {
  const auto target = std::string_view(request.target().data(), request.target().size());
  const auto offered = offered_subprotocols(request);
  if (offered.any && !offered.binary && offered.base64)
    return route_respond(http::status::bad_request, "only the binary WebSocket subprotocol is spoken here", true);
  RouteDecision decision;
  if (settings.tokens) {
    const auto token = requested_token(target, header_value(request, http::field::host), settings.token_from_host);
    if (token) {
      decision.token = redact_token(*token);
      decision.token_target = lookups.find_token(*token);
      if (!decision.token_target) {
        auto refusal = route_respond(http::status::not_found, "unknown token");
        refusal.note = "unknown token " + decision.token;
        return refusal;
      }
    } else if (!settings.listener_target) {
      auto refusal = route_respond(http::status::not_found, "token required");
      refusal.note = "no token given";
      return refusal;
    }
  } else if (!settings.listener_target) {
    return route_respond(http::status::not_found, "no target");
  }
  decision.kind = RouteKind::upgrade;
  decision.status = http::status::switching_protocols;
  decision.subprotocol = offered.binary ? "binary" : "";
  return decision;
}

RouteDecision route_file(const HttpRequest& request, const RouteSettings& settings, RouteLookups& lookups) {
  if (!settings.web_root) return route_respond(http::status::not_found, "not found");
  RouteDecision decision;
  decision.file = lookups.find_file(std::string_view(request.target().data(), request.target().size()),
                                    header_value(request, http::field::if_none_match),
                                    header_value(request, http::field::if_modified_since));
  switch (decision.file.status) {
    case StaticStatus::ok:
      decision.kind = RouteKind::file;
      decision.status = http::status::ok;
      return decision;
    case StaticStatus::not_modified:
      decision.kind = RouteKind::file;
      decision.status = http::status::not_modified;
      return decision;
    case StaticStatus::bad_request:
      return route_respond(http::status::bad_request, "bad path");
    case StaticStatus::forbidden:
    case StaticStatus::not_found:
      break;
  }
  return route_respond(http::status::not_found, "not found");
}

}  // namespace

RouteDecision route_request(const HttpRequest& request, bool has_body, bool authenticated,
                            const RouteSettings& settings, RouteLookups& lookups) {
  const auto target = std::string_view(request.target().data(), request.target().size());
  const auto method = request.method();
  RouteDecision decision = [&] {
    if (method != http::verb::get && method != http::verb::head)
      return route_respond(http::status::method_not_allowed, "only GET and HEAD", true);
    if (has_body) return route_respond(http::status::payload_too_large, "requests with a body are not accepted", true);
    if (target.empty() || target.front() != '/') return route_respond(http::status::bad_request, "bad request target", true);
    const bool upgrade = boost::beast::websocket::is_upgrade(request);
    if (upgrade && !origin_allowed(header_value(request, http::field::origin), settings.origins)) {
      auto refusal = route_respond(http::status::forbidden, "Origin not allowed");
      refusal.note = "Origin " + util::printable(header_value(request, http::field::origin), 200) + " not allowed";
      return refusal;
    }
    if (settings.auth_required && !authenticated)
      return route_respond(http::status::unauthorized, "authentication required");
    return upgrade ? route_upgrade(request, settings, lookups) : route_file(request, settings, lookups);
  }();
  decision.origin = util::printable(header_value(request, http::field::origin), 200);
  // A served file's path is a file name; anything else may hold a token.
  decision.log_path = loggable_path(target, settings.tokens && decision.kind != RouteKind::file);
  // A log note quotes client headers (Origin): never with the token in it.
  if (settings.tokens)
    if (const auto token = requested_token(target, header_value(request, http::field::host), settings.token_from_host))
      redact_everywhere(decision.note, *token);
  return decision;
}

http::response<http::string_body> text_response(const RouteDecision& decision, const HttpRequest& request,
                                                std::string_view realm) {
  http::response<http::string_body> response(decision.status, request.version());
  response.set(http::field::content_type, "text/plain; charset=utf-8");
  response.set("X-Content-Type-Options", "nosniff");
  response.set(http::field::cache_control, "no-store");
  if (decision.status == http::status::unauthorized)
    response.set(http::field::www_authenticate, "Basic realm=\"" + realm_value(realm) + "\", charset=\"UTF-8\"");
  if (decision.status == http::status::method_not_allowed) response.set(http::field::allow, "GET, HEAD");
  response.keep_alive(request.keep_alive() && !decision.close);
  response.body() = decision.body + "\n";
  response.prepare_payload();
  if (request.method() == http::verb::head) response.body().clear();  // Content-Length stays: HEAD's meaning
  return response;
}

void set_file_headers(http::response_header<>& header, const RouteDecision& decision, const HttpRequest& request) {
  header.result(decision.status);
  header.version(request.version());
  const StaticFile& file = decision.file.file;
  if (decision.status == http::status::ok) {
    header.set(http::field::content_type, std::string(file.mime));
    header.set(http::field::content_length, std::to_string(file.size));
  }
  if (!file.etag.empty()) header.set(http::field::etag, file.etag);
  if (!file.last_modified.empty()) header.set(http::field::last_modified, file.last_modified);
  header.set(http::field::cache_control, "no-cache");  // revalidate: noVNC updates with the package
  header.set("X-Content-Type-Options", "nosniff");
  header.set(http::field::connection, request.keep_alive() ? "keep-alive" : "close");
}

void redact_everywhere(std::string& text, std::string_view token) {
  if (token.empty()) return;
  const std::string redacted = "<" + redact_token(token) + ">";
  for (auto at = text.find(token); at != std::string::npos; at = text.find(token, at + redacted.size()))
    text.replace(at, token.size(), redacted);
}

std::string loggable_path(std::string_view target, bool redact_token_segment) {
  std::string_view path = target.substr(0, target.find('?'));
  std::string text(path);
  if (redact_token_segment) {
    if (const auto token = requested_token(path, "", false)) {
      const auto slash = text.rfind('/');
      if (slash != std::string::npos) text = text.substr(0, slash + 1) + "<" + redact_token(*token) + ">";
      redact_everywhere(text, *token);  // the same text elsewhere in the path ("/SECRET/SECRET")
    }
  }
  return util::printable(text, 200);
}

std::string realm_value(std::string_view realm) {
  std::string value;
  for (char c : realm)
    if (c != '"' && c != '\\' && static_cast<unsigned char>(c) >= 0x20 && c != 0x7f) value += c;
  return value;
}

}  // namespace vhm::proxy::frontend
