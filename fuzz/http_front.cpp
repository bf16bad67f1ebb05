// Bytes from a browser at the front end (proxy/frontend/http_route.hpp):
// byte 0 picks the listener's settings and whether Basic credentials were
// verified, the rest goes through Beast's request parser (header only, the
// front end's 8 KiB limit scaled down) and route_request against a fake file
// root and token table. Beyond not crashing:
//  - the status is one the front end documents (101 200 304 400 401 403 404 405 413);
//  - an upgrade is a GET WebSocket upgrade, authenticated when auth is on,
//    from a listed Origin when origins are set, with a known token or the
//    listener's target, and answers "binary" only when it was offered;
//  - a file is GET/HEAD, authenticated when auth is on;
//  - 401 only when auth is on and missing, with WWW-Authenticate; 405 with
//    Allow; a HEAD response has no body;
//  - the token the request names is in no log path, note, body or response
//    (except a served file's own path, which is a file name).
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/websocket/rfc6455.hpp>
#include <cctype>
#include <sstream>
#include <string>
#include <string_view>

#include "fuzz/support/check.hpp"
#include "proxy/frontend/http_route.hpp"
#include "proxy/frontend/token_table.hpp"

namespace {
namespace http = boost::beast::http;
using namespace vhm::proxy::frontend;

constexpr std::string_view fuzz_token = "fuzz-secret-token";
constexpr std::size_t header_limit = 1024;

class FakeLookups final : public RouteLookups {
 public:
  StaticResult find_file(std::string_view target, std::string_view if_none_match, std::string_view) override {
    StaticResult result;
    const auto path = target.substr(0, target.find('?'));
    if (path == "/" || path == "/vnc.html" || path == "/app/ui.js") {
      result.status = if_none_match == "\"1-2\"" ? StaticStatus::not_modified : StaticStatus::ok;
      result.file.size = 2;
      result.file.etag = "\"1-2\"";
      result.file.last_modified = "Thu, 01 Jan 2026 00:00:00 GMT";
      result.file.mime = mime_type(path);
    } else if (path.find("..") != std::string_view::npos) {
      result.status = StaticStatus::bad_request;
    }
    return result;
  }
  std::optional<vhm::conf::HostPort> find_token(std::string_view token) override {
    if (token == fuzz_token) return vhm::conf::HostPort{"127.0.0.1", 5901};
    return std::nullopt;
  }
};

bool contains(std::string_view text, std::string_view part) {
  return !part.empty() && text.find(part) != std::string_view::npos;
}

std::string_view field(const HttpRequest& request, http::field name) {
  auto it = request.find(name);
  return it == request.end() ? std::string_view() : std::string_view(it->value().data(), it->value().size());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const std::uint8_t flags = data[0];
  RouteSettings settings;
  const bool authenticated = flags & 1;
  settings.tokens = flags & 2;
  settings.web_root = flags & 4;
  settings.listener_target = flags & 8;
  settings.auth_required = flags & 16;
  if (flags & 32) settings.origins = {"https://vnc.example.org"};
  settings.token_from_host = flags & 64;

  http::request_parser<http::empty_body> parser;
  parser.header_limit(header_limit);
  boost::beast::error_code error;
  std::string_view bytes(reinterpret_cast<const char*>(data + 1), size - 1);
  while (!bytes.empty() && !parser.is_header_done()) {
    const std::size_t used = parser.put(boost::asio::buffer(bytes.data(), bytes.size()), error);
    if (error) break;
    if (used == 0) break;
    bytes.remove_prefix(used);
  }
  if (error || !parser.is_header_done()) return 0;
  const bool has_body = !parser.is_done();
  const HttpRequest request = parser.release();

  FakeLookups lookups;
  const RouteDecision decision = route_request(request, has_body, authenticated, settings, lookups);
  const unsigned status = static_cast<unsigned>(decision.status);
  const std::string detail = std::to_string(status) + " " + decision.log_path + " " + decision.note;
  switch (status) {
    case 101: case 200: case 304: case 400: case 401: case 403: case 404: case 405: case 413:
      break;
    default:
      VHM_FUZZ_CHECK(false, detail);
  }
  const bool get = request.method() == http::verb::get;
  const bool head = request.method() == http::verb::head;
  if (decision.kind == RouteKind::upgrade) {
    VHM_FUZZ_CHECK(status == 101 && get && boost::beast::websocket::is_upgrade(request), detail);
    VHM_FUZZ_CHECK(!settings.auth_required || authenticated, detail);
    VHM_FUZZ_CHECK(settings.origins.empty() || field(request, http::field::origin) == settings.origins[0] ||
                       boost::beast::iequals(field(request, http::field::origin), settings.origins[0]),
                   detail);
    VHM_FUZZ_CHECK(decision.token_target ? settings.tokens : settings.listener_target, detail);
    VHM_FUZZ_CHECK(decision.subprotocol.empty() || decision.subprotocol == "binary", detail);
    if (!decision.subprotocol.empty()) {
      std::string offered;
      auto range = request.equal_range(http::field::sec_websocket_protocol);
      for (auto it = range.first; it != range.second; ++it) offered += std::string(it->value()) + ",";
      for (auto& c : offered) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      VHM_FUZZ_CHECK(contains(offered, "binary"), detail);
    }
  } else if (decision.kind == RouteKind::file) {
    VHM_FUZZ_CHECK((status == 200 || status == 304) && (get || head), detail);
    VHM_FUZZ_CHECK(!settings.auth_required || authenticated, detail);
    VHM_FUZZ_CHECK(settings.web_root, detail);
  }
  if (status == 401) VHM_FUZZ_CHECK(settings.auth_required && !authenticated, detail);

  std::string serialized;
  if (decision.kind == RouteKind::respond) {
    auto response = text_response(decision, request, "fuzz realm");
    if (status == 401) VHM_FUZZ_CHECK(response.count(http::field::www_authenticate) == 1, detail);
    if (status == 405) VHM_FUZZ_CHECK(response[http::field::allow] == "GET, HEAD", detail);
    if (head) VHM_FUZZ_CHECK(response.body().empty(), detail);
    std::ostringstream out;
    out << response;
    serialized = out.str();
  } else if (decision.kind == RouteKind::file) {
    http::response<http::empty_body> response;
    set_file_headers(response.base(), decision, request);
    std::ostringstream out;
    out << response.base();
    serialized = out.str();
  }

  // The token this request names never shows: the table's one, or any other
  // that starts with "fuzz-" (a prefix no fixed text of the responses has).
  const auto target = std::string_view(request.target().data(), request.target().size());
  if (settings.tokens) {
    const auto token = requested_token(target, field(request, http::field::host), settings.token_from_host);
    if (token && token->starts_with("fuzz-")) {
      if (decision.kind != RouteKind::file) VHM_FUZZ_CHECK(!contains(decision.log_path, *token), detail);
      VHM_FUZZ_CHECK(!contains(decision.note, *token), detail);
      VHM_FUZZ_CHECK(!contains(decision.body, *token), detail);
      VHM_FUZZ_CHECK(!contains(decision.token, *token), detail);
      VHM_FUZZ_CHECK(!contains(serialized, *token), serialized);
    }
  }
  return 0;
}
