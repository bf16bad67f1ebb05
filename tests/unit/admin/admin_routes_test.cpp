// admin/admin_routes.hpp against a fake proxy: every route, the token rules,
// status codes and headers, the JSON shapes, percent-decoding.
#include <catch2/catch.hpp>

#include <boost/json.hpp>
#include <map>

#include "admin/admin_routes.hpp"

using namespace vhm::admin;
namespace json = boost::json;

namespace {

constexpr std::string_view token = "correct-horse-battery-staple";

class FakeControl final : public vhm::control::ControlHandler {
 public:
  std::vector<vhm::control::SessionRow> rows;
  std::vector<vhm::control::BanRow> ban_rows;
  std::vector<std::string> killed;
  std::vector<std::string> unbanned;

  std::vector<vhm::control::SessionRow> sessions() override { return rows; }
  std::vector<vhm::control::BanRow> bans() override { return ban_rows; }
  vhm::control::CommandResult unban(const std::string& address) override {
    unbanned.push_back(address);
    for (auto it = ban_rows.begin(); it != ban_rows.end(); ++it)
      if (it->key == address || it->key == address + "/32" || it->key == address + "/64") {
        ban_rows.erase(it);
        return {true, "unbanned " + address};
      }
    return {false, "no ban or failures for " + address};
  }
  vhm::control::CommandResult kill(const std::string& session_id) override {
    killed.push_back(session_id);
    for (auto it = rows.begin(); it != rows.end(); ++it)
      if (it->session_id == session_id) {
        rows.erase(it);
        return {true, "killed session " + session_id};
      }
    return {false, "no session " + session_id};
  }
};

class FakeBackend final : public Backend {
 public:
  FakeControl fake;
  Readiness state = Readiness::ready;
  int metrics_calls = 0;

  vhm::control::ControlHandler& control() override { return fake; }
  Readiness readiness() override { return state; }
  std::string metrics_text() override {
    ++metrics_calls;
    return "# TYPE vnc_hooks_manager_sessions_active gauge\nvnc_hooks_manager_sessions_active 1\n";
  }
};

struct Fixture {
  FakeBackend backend;
  AccessRules access{std::string(token), false};

  Fixture() {
    vhm::control::SessionRow row;
    row.session_id = "00c0ffee12345678";
    row.client_ip = "192.0.2.7";
    row.client_port = "50123";
    row.target_host = "127.0.0.1";
    row.target_port = "5901";
    row.listen = "127.0.0.1:5900";
    row.user = "alice";
    row.security_type = "VncAuth";
    row.state = "relaying";
    row.age_seconds = 42;
    row.bytes_in = 100;
    row.bytes_out = 2000;
    row.tracking = "off";
    row.transport = "ws";
    backend.fake.rows.push_back(row);
    backend.fake.ban_rows.push_back({"203.0.113.7/32", 3, "2026-01-01T00:00:00Z", 1});
    backend.fake.ban_rows.push_back({"2001:db8:1:2::/64", 5, "2026-01-01T01:00:00Z", 2});
  }

  Outcome send(http::verb method, std::string_view target, std::string_view authorization = {}) {
    Request request{method, target, 11};
    if (!authorization.empty()) request.set(http::field::authorization, authorization);
    return handle_request(request, access, backend);
  }
  Outcome with_token(http::verb method, std::string_view target) {
    return send(method, target, "Bearer " + std::string(token));
  }
};

json::value body_json(const Response& response) {
  INFO(response.body());
  CHECK(response[http::field::content_type] == "application/json");
  return json::parse(response.body());
}

std::string error_of(const Response& response) { return std::string(body_json(response).at("error").as_string()); }

bool contains(std::string_view text, std::string_view part) { return text.find(part) != std::string_view::npos; }

}  // namespace

TEST_CASE("admin routes: /healthz, /readyz and /metrics are open by default") {
  Fixture f;
  const auto health = f.send(http::verb::get, "/healthz").response;
  CHECK(health.result() == http::status::ok);
  CHECK(health.body() == "ok\n");
  CHECK(health[http::field::content_type] == "text/plain; charset=utf-8");

  CHECK(f.send(http::verb::get, "/readyz").response.result() == http::status::ok);
  f.backend.state = Readiness::starting;
  auto starting = f.send(http::verb::get, "/readyz").response;
  CHECK(starting.result() == http::status::service_unavailable);
  CHECK(starting.body() == "starting\n");
  f.backend.state = Readiness::stopping;
  auto stopping = f.send(http::verb::get, "/readyz").response;
  CHECK(stopping.result() == http::status::service_unavailable);
  CHECK(stopping.body() == "shutting down\n");

  const auto metrics = f.send(http::verb::get, "/metrics?name[]=x").response;
  CHECK(metrics.result() == http::status::ok);
  CHECK(metrics[http::field::content_type] == "text/plain; version=0.0.4; charset=utf-8");
  CHECK(contains(metrics.body(), "vnc_hooks_manager_sessions_active 1"));
  CHECK(metrics[http::field::content_length] == std::to_string(metrics.body().size()));
  CHECK(f.backend.metrics_calls == 1);
}

TEST_CASE("admin routes: metrics_need_token puts /metrics, /healthz and /readyz behind the token") {
  Fixture f;
  f.access.metrics_need_token = true;
  for (const auto* path : {"/metrics", "/healthz", "/readyz"}) {
    INFO(path);
    CHECK(f.send(http::verb::get, path).response.result() == http::status::unauthorized);
    CHECK(f.with_token(http::verb::get, path).response.result() == http::status::ok);
  }
  CHECK(f.backend.metrics_calls == 1);
}

TEST_CASE("admin routes: /sessions and /bans refuse a missing or wrong token with 401 and WWW-Authenticate") {
  Fixture f;
  const std::vector<std::pair<http::verb, std::string>> requests = {
      {http::verb::get, "/sessions"},
      {http::verb::head, "/bans"},
      {http::verb::delete_, "/sessions/00c0ffee12345678"},
      {http::verb::delete_, "/bans/203.0.113.7"},
      {http::verb::post, "/sessions"},  // the token is checked before the method
  };
  const std::vector<std::string> wrong = {
      "",  // no header
      "Bearer",
      "Bearer ",
      "Basic Y29ycmVjdDpob3JzZQ==",
      "Bearer correct-horse-battery-stapl",
      "Bearer correct-horse-battery-staple-",
      "Bearer CORRECT-HORSE-BATTERY-STAPLE",
      "Bearercorrect-horse-battery-staple",
      "correct-horse-battery-staple",
  };
  for (const auto& [method, target] : requests)
    for (const auto& authorization : wrong) {
      INFO(target << " with Authorization: " << authorization);
      const auto outcome = f.send(method, target, authorization);
      CHECK(outcome.response.result() == http::status::unauthorized);
      CHECK(contains(outcome.response[http::field::www_authenticate], "Bearer"));
      if (method != http::verb::head) CHECK(contains(error_of(outcome.response), "bearer token"));
      CHECK(contains(outcome.audit, "refused"));
      CHECK_FALSE(contains(outcome.audit, token));
      CHECK_FALSE(contains(outcome.response.body(), token));
    }
  CHECK(f.backend.fake.killed.empty());
  CHECK(f.backend.fake.unbanned.empty());
  CHECK(f.backend.fake.rows.size() == 1);
}

TEST_CASE("admin routes: the bearer scheme is case-insensitive and spaces around the token are ignored") {
  Fixture f;
  for (const std::string prefix : {"Bearer ", "bearer ", "BEARER  ", "Bearer\t"}) {
    INFO(prefix);
    CHECK(f.send(http::verb::get, "/sessions", prefix + std::string(token) + " ").response.result() ==
          http::status::ok);
  }
}

TEST_CASE("admin routes: without a configured token the protected routes answer 403 naming admin.token_file") {
  Fixture f;
  f.access.token.clear();
  for (const auto* target : {"/sessions", "/bans", "/sessions/00c0ffee12345678", "/bans/203.0.113.7"}) {
    INFO(target);
    const auto response = f.send(http::verb::get, target, "Bearer ").response;
    CHECK(response.result() == http::status::forbidden);
    CHECK(contains(error_of(response), "admin.token_file"));
  }
  // An empty configured token never matches an empty bearer credential.
  CHECK(f.send(http::verb::delete_, "/sessions/00c0ffee12345678", "Bearer").response.result() ==
        http::status::forbidden);
  CHECK(f.backend.fake.killed.empty());
  CHECK(f.send(http::verb::get, "/metrics").response.result() == http::status::ok);
}

TEST_CASE("admin routes: GET /sessions lists the sessions with the fields of ctl --json sessions") {
  Fixture f;
  const auto outcome = f.with_token(http::verb::get, "/sessions");
  CHECK(outcome.response.result() == http::status::ok);
  CHECK(outcome.audit.empty());  // reads are not audited
  CHECK(outcome.response[http::field::cache_control] == "no-store");
  const auto rows = body_json(outcome.response).as_array();
  REQUIRE(rows.size() == 1);
  const auto& row = rows[0].as_object();
  CHECK(row.at("session_id") == "00c0ffee12345678");
  CHECK(row.at("client_ip") == "192.0.2.7");
  CHECK(row.at("client_port") == "50123");
  CHECK(row.at("target_host") == "127.0.0.1");
  CHECK(row.at("target_port") == "5901");
  CHECK(row.at("listen") == "127.0.0.1:5900");
  CHECK(row.at("user") == "alice");
  CHECK(row.at("security_type") == "VncAuth");
  CHECK(row.at("state") == "relaying");
  CHECK(row.at("age_seconds") == 42);
  CHECK(row.at("bytes_in") == 100);
  CHECK(row.at("bytes_out") == 2000);
  CHECK(row.at("recording_path") == "");
  CHECK(row.at("view_only") == false);
  CHECK(row.at("tracking") == "off");
  CHECK(row.at("transport") == "ws");
  CHECK(row.size() == 16);

  f.backend.fake.rows.clear();
  CHECK(f.with_token(http::verb::get, "/sessions").response.body() == "[]\n");
}

TEST_CASE("admin routes: GET /bans lists the ban table") {
  Fixture f;
  const auto rows = body_json(f.with_token(http::verb::get, "/bans").response).as_array();
  REQUIRE(rows.size() == 2);
  CHECK(rows[0].as_object() == json::object{{"key", "203.0.113.7/32"},
                                            {"failures", 3},
                                            {"banned_until", "2026-01-01T00:00:00Z"},
                                            {"level", 1}});
  CHECK(rows[1].at("key") == "2001:db8:1:2::/64");
}

TEST_CASE("admin routes: HEAD gives GET's status and headers without a body") {
  Fixture f;
  for (const auto* target : {"/sessions", "/bans", "/metrics", "/healthz", "/readyz"}) {
    INFO(target);
    const auto get = f.with_token(http::verb::get, target).response;
    const auto head = f.with_token(http::verb::head, target).response;
    CHECK(head.result() == get.result());
    CHECK(head.body().empty());
    CHECK(head[http::field::content_length] == std::to_string(get.body().size()));
    CHECK(head[http::field::content_type] == get[http::field::content_type]);
  }
  // Errors too: a body after a HEAD response would be read as the next response.
  for (const auto* target : {"/bans", "/nowhere", "/sessions/00c0ffee12345678"}) {
    INFO(target);
    const auto head = f.send(http::verb::head, target).response;
    CHECK(head.result_int() >= 400);
    CHECK(head.body().empty());
  }
}

TEST_CASE("admin routes: DELETE /sessions/{id} kills the session; an unknown id is 404") {
  Fixture f;
  const auto killed = f.with_token(http::verb::delete_, "/sessions/00c0ffee12345678");
  CHECK(killed.response.result() == http::status::ok);
  CHECK(body_json(killed.response).at("message") == "killed session 00c0ffee12345678");
  CHECK(f.backend.fake.killed == std::vector<std::string>{"00c0ffee12345678"});
  CHECK(contains(killed.audit, "DELETE /sessions/00c0ffee12345678"));
  CHECK(contains(killed.audit, "killed session"));

  const auto again = f.with_token(http::verb::delete_, "/sessions/00c0ffee12345678");
  CHECK(again.response.result() == http::status::not_found);
  CHECK(error_of(again.response) == "no session 00c0ffee12345678");
  CHECK_FALSE(again.audit.empty());  // a failed write attempt is still worth a line
}

TEST_CASE("admin routes: DELETE /bans/{address} unbans, percent-decoded, IPv6 and prefixes too") {
  Fixture f;
  const auto lifted = f.with_token(http::verb::delete_, "/bans/203.0.113.7");
  CHECK(lifted.response.result() == http::status::ok);
  CHECK(body_json(lifted.response).at("message") == "unbanned 203.0.113.7");
  CHECK(contains(lifted.audit, "unbanned 203.0.113.7"));

  CHECK(f.with_token(http::verb::delete_, "/bans/2001%3Adb8%3a1%3A2%3A%3A").response.result() == http::status::ok);
  CHECK(f.backend.fake.unbanned.back() == "2001:db8:1:2::");
  CHECK(f.with_token(http::verb::delete_, "/bans/203.0.113.7").response.result() == http::status::not_found);
  CHECK(f.with_token(http::verb::delete_, "/bans/198.51.100.0/24").response.result() == http::status::not_found);
  CHECK(f.backend.fake.unbanned.back() == "198.51.100.0/24");  // a key's prefix may follow unencoded
  f.with_token(http::verb::delete_, "/bans/198.51.100.0%2F24");
  CHECK(f.backend.fake.unbanned.back() == "198.51.100.0/24");
  f.with_token(http::verb::delete_, "/bans/%5B2001%3Adb8%3A%3A1%5D");
  CHECK(f.backend.fake.unbanned.back() == "[2001:db8::1]");
  f.with_token(http::verb::delete_, "/bans/2001:db8::1?x=1");
  CHECK(f.backend.fake.unbanned.back() == "2001:db8::1");  // the query is not part of the address
}

TEST_CASE("admin routes: bad percent-encoding is 400 and reaches no handler") {
  Fixture f;
  for (const auto* target : {"/bans/%", "/bans/1%2", "/bans/%zz", "/bans/%00", "/sessions/%g1", "/sessions/ab%"}) {
    INFO(target);
    const auto response = f.with_token(http::verb::delete_, target).response;
    CHECK(response.result() == http::status::bad_request);
    CHECK(contains(error_of(response), "percent-encoding"));
  }
  CHECK(f.backend.fake.unbanned.empty());
  CHECK(f.backend.fake.killed.empty());
}

TEST_CASE("admin routes: a wrong method is 405 with Allow") {
  Fixture f;
  const std::vector<std::tuple<http::verb, std::string, std::string>> cases = {
      {http::verb::post, "/sessions", "GET, HEAD"},   {http::verb::delete_, "/sessions", "GET, HEAD"},
      {http::verb::put, "/bans", "GET, HEAD"},        {http::verb::get, "/sessions/00c0ffee12345678", "DELETE"},
      {http::verb::get, "/bans/203.0.113.7", "DELETE"}, {http::verb::post, "/metrics", "GET, HEAD"},
      {http::verb::delete_, "/healthz", "GET, HEAD"}, {http::verb::options, "/readyz", "GET, HEAD"},
  };
  for (const auto& [method, target, allow] : cases) {
    INFO(target);
    const auto response = f.with_token(method, target).response;
    CHECK(response.result() == http::status::method_not_allowed);
    CHECK(response[http::field::allow] == allow);
    CHECK(contains(error_of(response), "not allowed"));
  }
  CHECK(f.backend.fake.killed.empty());
  CHECK(f.backend.fake.unbanned.empty());
}

TEST_CASE("admin routes: unknown paths are 404, non-path targets 400") {
  Fixture f;
  for (const auto* target : {"/", "/session", "/sessions/", "/sessions/a/b", "/bans/", "/metrics/", "/healthz/x",
                             "//sessions", "/SESSIONS"}) {
    INFO(target);
    const auto response = f.with_token(http::verb::get, target).response;
    CHECK(response.result() == http::status::not_found);
    CHECK(contains(error_of(response), "no endpoint"));
  }
  for (const auto* target : {"*", "http://127.0.0.1:9810/sessions", "sessions"}) {
    INFO(target);
    CHECK(f.with_token(http::verb::get, target).response.result() == http::status::bad_request);
  }
}

TEST_CASE("admin routes: keep-alive follows the request; error responses close") {
  Fixture f;
  CHECK(f.send(http::verb::get, "/healthz").response.keep_alive());
  Request closing{http::verb::get, "/healthz", 11};
  closing.set(http::field::connection, "close");
  CHECK_FALSE(handle_request(closing, f.access, f.backend).response.keep_alive());
  Request old{http::verb::get, "/healthz", 10};
  const auto response = handle_request(old, f.access, f.backend).response;
  CHECK(response.version() == 10);
  CHECK_FALSE(response.keep_alive());

  const auto error = error_response(http::status::request_header_fields_too_large, "too big");
  CHECK(error.result_int() == 431);
  CHECK_FALSE(error.keep_alive());
  CHECK(json::parse(error.body()) == json::object{{"error", "too big"}});
}

TEST_CASE("admin routes: peer text in errors is escaped and valid JSON") {
  Fixture f;
  f.backend.fake.rows.front().user = std::string("bad\xff\x01user\"");
  const auto rows = body_json(f.with_token(http::verb::get, "/sessions").response).as_array();
  CHECK(rows.size() == 1);
  const auto response = f.with_token(http::verb::get, "/x%22%0a\x7f\"").response;
  CHECK(response.result() == http::status::not_found);
  CHECK_NOTHROW(json::parse(response.body()));
}

TEST_CASE("admin routes: percent_decode and same_secret") {
  std::string out;
  CHECK(percent_decode("a%20b%2fc%2F", out));
  CHECK(out == "a b/c/");
  CHECK(percent_decode("", out));
  CHECK(out.empty());
  CHECK_FALSE(percent_decode("%2", out));
  CHECK_FALSE(percent_decode("%-1", out));
  CHECK_FALSE(percent_decode("a%00", out));
  CHECK(same_secret("abc", "abc"));
  CHECK_FALSE(same_secret("abc", "abd"));
  CHECK_FALSE(same_secret("abc", "abcd"));
  CHECK_FALSE(same_secret("", "x"));
}
