#include <boost/json.hpp>
#include <catch2/catch.hpp>

#include "control/ctl_format.hpp"
#include "control/protocol.hpp"
#include "util/utf8_text.hpp"
#include "control_test_support.hpp"

using namespace vhm::control;
namespace json = boost::json;

namespace {

std::string rejection(std::string_view line) {
  std::string error;
  const auto request = parse_request(line, error);
  INFO(line);
  CHECK_FALSE(request);
  return error;
}

json::object parse_object(const std::string& text) {
  json::error_code error;
  json::value value = json::parse(text, error);
  INFO(text);
  REQUIRE_FALSE(error);
  REQUIRE(value.is_object());
  return value.as_object();
}

}  // namespace

TEST_CASE("every request survives request_to_json and parse_request") {
  const std::vector<Request> requests = {
      {Command::sessions, ""}, {Command::bans, ""}, {Command::unban, "2001:db8::7"}, {Command::kill, "a1b2c3"}};
  for (const auto& request : requests) {
    const std::string line = request_to_json(request);
    INFO(line);
    CHECK(line.find('\n') == std::string::npos);
    std::string error;
    const auto parsed = parse_request(line, error);
    REQUIRE(parsed);
    CHECK(parsed->command == request.command);
    CHECK(parsed->argument == request.argument);
  }
}

TEST_CASE("parse_request accepts the documented wire format") {
  std::string error;
  auto request = parse_request(R"({"command":"unban","address":"192.0.2.7"})", error);
  REQUIRE(request);
  CHECK(request->command == Command::unban);
  CHECK(request->argument == "192.0.2.7");
  request = parse_request(" {\"session_id\":\"s1\", \"command\":\"kill\"}\r", error);
  REQUIRE(request);
  CHECK(request->command == Command::kill);
  CHECK(request->argument == "s1");
}

TEST_CASE("parse_request rejects malformed requests with a reason") {
  CHECK_THAT(rejection(""), Catch::Contains("empty request"));
  CHECK_THAT(rejection("sessions"), Catch::Contains("not valid JSON"));
  CHECK_THAT(rejection(R"({"command":"sessions")"), Catch::Contains("not valid JSON"));
  CHECK_THAT(rejection(R"(["sessions"])"), Catch::Contains("must be a JSON object"));
  CHECK_THAT(rejection(R"({"cmd":"sessions"})"), Catch::Contains("needs a string \"command\""));
  CHECK_THAT(rejection(R"({"command":7})"), Catch::Contains("needs a string \"command\""));
  CHECK_THAT(rejection(R"({"command":"reboot"})"), Catch::Contains("unknown command \"reboot\""));
  CHECK_THAT(rejection(R"({"command":"unban"})"), Catch::Contains("needs a non-empty string \"address\""));
  CHECK_THAT(rejection(R"({"command":"unban","address":""})"), Catch::Contains("non-empty string \"address\""));
  CHECK_THAT(rejection(R"({"command":"kill","session_id":12})"), Catch::Contains("\"session_id\""));
  CHECK_THAT(rejection(R"({"command":"sessions","all":true})"), Catch::Contains("unexpected key \"all\""));
  CHECK_THAT(rejection(R"({"command":"kill","address":"x","session_id":"y"})"),
             Catch::Contains("unexpected key \"address\""));
  CHECK_THAT(rejection("{\"command\":\"\xff\"}"), Catch::Contains("not valid JSON"));
}

TEST_CASE("peer text echoed in a request error is escaped and bounded") {
  const std::string error = rejection("{\"command\":\"a\\u001b[31m" + std::string(500, 'x') + "\"}");
  CHECK(error.find('\x1b') == std::string::npos);
  CHECK_THAT(error, Catch::Contains("\\x1b"));
  CHECK(error.size() < 200);
}

TEST_CASE("execute_request turns handler rows into the documented JSON") {
  test::FakeHandler handler;
  handler.session_rows = {{"s1", "192.0.2.10", "50000", "127.0.0.1", "5901", "0.0.0.0:5900", "alice", "VncAuth",
                           "recording", 61, 1536, 3 * 1024 * 1024, "/srv/rec/s1.vhmrec", true, "on", "ws"}};
  handler.ban_rows = {{"192.0.2.7/32", 5, "2026-01-01T10:00:00.000Z", 2}};

  auto sessions = parse_object(execute_request({Command::sessions, ""}, handler));
  CHECK(sessions.at("ok") == true);
  const auto& row = sessions.at("sessions").as_array().at(0).as_object();
  CHECK(row.at("session_id") == "s1");
  CHECK(row.at("client_ip") == "192.0.2.10");
  CHECK(row.at("client_port") == "50000");
  CHECK(row.at("target_host") == "127.0.0.1");
  CHECK(row.at("target_port") == "5901");
  CHECK(row.at("listen") == "0.0.0.0:5900");
  CHECK(row.at("user") == "alice");
  CHECK(row.at("security_type") == "VncAuth");
  CHECK(row.at("state") == "recording");
  CHECK(row.at("recording_path") == "/srv/rec/s1.vhmrec");
  CHECK(row.at("view_only") == true);
  CHECK(row.at("tracking") == "on");
  CHECK(row.at("age_seconds").to_number<std::uint64_t>() == 61);
  CHECK(row.at("bytes_in").to_number<std::uint64_t>() == 1536);
  CHECK(row.at("bytes_out").to_number<std::uint64_t>() == 3 * 1024 * 1024);

  auto bans = parse_object(execute_request({Command::bans, ""}, handler));
  const auto& ban = bans.at("bans").as_array().at(0).as_object();
  CHECK(ban.at("key") == "192.0.2.7/32");
  CHECK(ban.at("failures").to_number<std::uint64_t>() == 5);
  CHECK(ban.at("banned_until") == "2026-01-01T10:00:00.000Z");
  CHECK(ban.at("level").to_number<std::uint32_t>() == 2);

  auto unknown = parse_object(execute_request({Command::kill, "nope"}, handler));
  CHECK(unknown.at("ok") == false);
  CHECK(unknown.at("error") == "no session nope");
  handler.live_sessions = {"s1"};
  auto killed = parse_object(execute_request({Command::kill, "s1"}, handler));
  CHECK(killed.at("ok") == true);
  CHECK(killed.at("message") == "session s1 killed");
}

TEST_CASE("responses stay valid JSON when peer text is not valid UTF-8") {
  test::FakeHandler handler;
  SessionRow row;
  row.session_id = "s1";
  row.user = "bad\xff\xfe\n";
  row.state = "caf\xc3\xa9";
  handler.session_rows = {row};
  const std::string response = execute_request({Command::sessions, ""}, handler);
  CHECK(response.find('\n') == std::string::npos);
  auto object = parse_object(response);  // Boost.JSON rejects invalid UTF-8
  const auto& parsed = object.at("sessions").as_array().at(0).as_object();
  CHECK(parsed.at("user") == "bad\xEF\xBF\xBD\xEF\xBF\xBD\n");
  CHECK(parsed.at("state") == "caf\xc3\xa9");
}

TEST_CASE("valid_utf8 keeps valid sequences and replaces each invalid byte") {
  CHECK(vhm::util::valid_utf8("plain ascii") == "plain ascii");
  CHECK(vhm::util::valid_utf8("\xF0\x9F\x98\x80 \xE2\x82\xAC") == "\xF0\x9F\x98\x80 \xE2\x82\xAC");
  const std::string fffd = "\xEF\xBF\xBD";
  CHECK(vhm::util::valid_utf8("\xC0\xAF") == fffd + fffd);        // overlong '/'
  CHECK(vhm::util::valid_utf8("\xED\xA0\x80") == fffd + fffd + fffd);  // UTF-16 surrogate
  CHECK(vhm::util::valid_utf8("\xF4\x90\x80\x80") == fffd + fffd + fffd + fffd);  // above U+10FFFF
  CHECK(vhm::util::valid_utf8("ab\xE2\x82") == "ab" + fffd + fffd);  // truncated at the end
}

TEST_CASE("ages and byte counts are shown compactly") {
  CHECK(format_age(0) == "0s");
  CHECK(format_age(59) == "59s");
  CHECK(format_age(61) == "1m01s");
  CHECK(format_age(3 * 3600 + 4 * 60 + 5) == "3h04m");
  CHECK(format_age(2 * 86400 + 3 * 3600) == "2d03h");
  CHECK(format_bytes(0) == "0");
  CHECK(format_bytes(1023) == "1023");
  CHECK(format_bytes(1536) == "1.5K");
  CHECK(format_bytes(12ull * 1024 * 1024) == "12.0M");
  CHECK(format_bytes(5ull << 40) == "5.0T");
}
