// Bytes from an admin API client (admin/admin_routes.hpp): Beast's request
// parser with the admin listener's kind of limits (smaller here, so they are
// reachable within max_len), then the routes against a fake proxy. Beyond
// not crashing:
//  - the status is one the routes document; 401 carries WWW-Authenticate,
//    405 carries Allow; a HEAD response has no body;
//  - a JSON response parses as JSON; the token never appears in a response
//    or an audit line (unless the request target itself holds it);
//  - a session is killed or an address unbanned only when the request
//    carried the right bearer token, and only by a DELETE;
//  - the response, serialized, parses back with the same status and body.
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/json.hpp>
#include <set>
#include <sstream>
#include <string>
#include <string_view>

#include "admin/admin_routes.hpp"
#include "fuzz/support/check.hpp"

namespace {
namespace http = boost::beast::http;
using namespace vhm::admin;

constexpr std::string_view fuzz_token = "fuzz-token-0123456789";
constexpr std::size_t header_limit = 1024;  // the listener's 8 KiB, scaled to max_len
constexpr std::size_t body_limit = 256;

class FakeControl final : public vhm::control::ControlHandler {
 public:
  int writes = 0;
  std::vector<vhm::control::SessionRow> sessions() override {
    vhm::control::SessionRow row;
    row.session_id = "0123456789abcdef";
    row.client_ip = "192.0.2.1";
    row.user = "u\"\\\x01\xff";
    return {row};
  }
  std::vector<vhm::control::BanRow> bans() override { return {{"192.0.2.1/32", 3, "2026-01-01T00:00:00Z", 1}}; }
  vhm::control::CommandResult unban(const std::string& address) override {
    ++writes;
    VHM_FUZZ_CHECK(address.find('\0') == std::string::npos, "a NUL reached unban");
    return {address == "192.0.2.1", "unban " + address};
  }
  vhm::control::CommandResult kill(const std::string& session_id) override {
    ++writes;
    VHM_FUZZ_CHECK(session_id.find('\0') == std::string::npos, "a NUL reached kill");
    return {session_id == "0123456789abcdef", "kill " + session_id};
  }
};

class FakeBackend final : public Backend {
 public:
  explicit FakeBackend(Readiness state) : state_(state) {}
  vhm::control::ControlHandler& control() override { return control_; }
  Readiness readiness() override { return state_; }
  std::string metrics_text() override { return "# TYPE vnc_hooks_manager_up gauge\nvnc_hooks_manager_up 1\n"; }
  int writes() const { return control_.writes; }

 private:
  FakeControl control_;
  Readiness state_;
};

bool contains(std::string_view text, std::string_view part) { return text.find(part) != std::string_view::npos; }

// The request as the admin listener reads it: nullopt when Beast refuses it
// (the listener answers 400/413/431 and closes) or it is incomplete.
std::optional<Request> parse(std::string_view bytes) {
  http::request_parser<http::string_body> parser;
  parser.header_limit(header_limit);
  parser.body_limit(body_limit);
  parser.eager(true);
  boost::beast::error_code error;
  while (!bytes.empty() && !parser.is_done()) {
    const std::size_t used = parser.put(boost::asio::buffer(bytes.data(), bytes.size()), error);
    if (error == http::error::need_more && used == 0) break;
    if (error && error != http::error::need_more) return std::nullopt;
    bytes.remove_prefix(used);
  }
  if (!parser.is_done()) {
    parser.put_eof(error);
    if (error || !parser.is_done()) return std::nullopt;
  }
  return parser.release();
}

void check_round_trip(const Response& response, bool head) {
  std::ostringstream wire;
  wire << response;
  const std::string text = wire.str();
  http::response_parser<http::string_body> parser;
  parser.skip(head);
  parser.eager(true);
  boost::beast::error_code error;
  parser.put(boost::asio::buffer(text), error);
  if (!parser.is_done() && !error) parser.put_eof(error);
  VHM_FUZZ_CHECK(!error && parser.is_done(), "the response does not parse back: " + error.message() + "\n" + text);
  VHM_FUZZ_CHECK(parser.get().result() == response.result() && parser.get().body() == response.body(), text);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  const auto request = parse(bytes);
  if (!request) return 0;
  FakeBackend backend(static_cast<Readiness>(size % 3));
  const AccessRules access{std::string(fuzz_token), size % 2 == 0};
  const Outcome outcome = handle_request(*request, access, backend);
  const Response& response = outcome.response;

  static const std::set<unsigned> documented = {200, 400, 401, 403, 404, 405, 503};
  VHM_FUZZ_CHECK(documented.count(response.result_int()) == 1, std::to_string(response.result_int()));
  if (response.result() == http::status::unauthorized)
    VHM_FUZZ_CHECK(response[http::field::www_authenticate].starts_with("Bearer"), "401 without WWW-Authenticate");
  if (response.result() == http::status::method_not_allowed)
    VHM_FUZZ_CHECK(!response[http::field::allow].empty(), "405 without Allow");
  const bool head = request->method() == http::verb::head;
  if (head) VHM_FUZZ_CHECK(response.body().empty(), "a HEAD response with a body");
  if (!head && response[http::field::content_type] == "application/json") {
    boost::json::error_code ec;
    boost::json::parse(response.body(), ec);
    VHM_FUZZ_CHECK(!ec, "not JSON: " + response.body());
  }
  // (A target may hold the token's text: a 404 names the path it was given.)
  if (!contains(request->target(), fuzz_token))
    VHM_FUZZ_CHECK(!contains(response.body(), fuzz_token) && !contains(outcome.audit, fuzz_token),
                   "the token leaked: " + outcome.audit);
  if (backend.writes() > 0) {
    VHM_FUZZ_CHECK(request->method() == http::verb::delete_, "a write without DELETE");
    const auto authorization = (*request)[http::field::authorization];
    VHM_FUZZ_CHECK(contains(authorization, fuzz_token), "a write without the token");
    VHM_FUZZ_CHECK(!outcome.audit.empty(), "a write without an audit line");
  }
  check_round_trip(response, head);
  return 0;
}
