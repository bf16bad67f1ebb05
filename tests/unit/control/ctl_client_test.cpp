// run_ctl against a real ControlServer on a temporary socket: what an
// operator sees for each command, and the exit codes scripts rely on.
#include <boost/json.hpp>
#include <catch2/catch.hpp>

#include "control_test_support.hpp"

using namespace vhm::control;
using namespace vhm::control::test;
namespace json = boost::json;

namespace {

std::vector<SessionRow> two_sessions() {
  return {
      {"0f3a9c21", "192.0.2.10", "50000", "127.0.0.1", "5901", "0.0.0.0:5900", "alice", "VncAuth", "relaying", 3661,
       1536, 3 * 1024 * 1024, "", false, "off", "tcp"},
      {"77aa0001", "2001:db8::5", "40000", "vnc.example", "5902", "[::]:5900", "", "", "handshake", 2, 12, 0, "", false, "",
       "wss"},
  };
}

// The table line that starts with `id`.
std::string line_of(const std::string& text, const std::string& id) {
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);)
    if (line.rfind(id, 0) == 0) return line;
  return {};
}

}  // namespace

TEST_CASE("ctl sessions prints one table row per session") {
  TempDir dir;
  RunningServer server(dir / "control.sock");
  server.handler.session_rows = two_sessions();

  const auto run = ctl(server.path(), {"sessions"});
  INFO(run.out << run.err);
  CHECK(run.status == 0);
  CHECK(run.err.empty());
  CHECK_THAT(run.out, Catch::StartsWith("ID "));
  for (const char* title : {"CLIENT", "VIA", "TARGET", "USER", "SECURITY", "STATE", "AGE", "IN", "OUT"})
    CHECK_THAT(run.out, Catch::Contains(title));
  const std::string first = line_of(run.out, "0f3a9c21");
  CHECK_THAT(first, Catch::Contains("192.0.2.10:50000     tcp  127.0.0.1:5901"));
  CHECK_THAT(first, Catch::Contains("127.0.0.1:5901"));
  CHECK_THAT(first, Catch::Contains("alice"));
  CHECK_THAT(first, Catch::Contains("VncAuth"));
  CHECK_THAT(first, Catch::Contains("relaying"));
  CHECK_THAT(first, Catch::Contains("1h01m"));
  CHECK_THAT(first, Catch::Contains("1.5K"));
  CHECK_THAT(first, Catch::EndsWith("3.0M"));
  const std::string second = line_of(run.out, "77aa0001");
  CHECK_THAT(second, Catch::Contains("[2001:db8::5]:40000"));
  CHECK_THAT(second, Catch::Contains("vnc.example:5902"));
  CHECK_THAT(second, Catch::Contains(" wss "));
  CHECK_THAT(second, Catch::Contains("handshake"));
  CHECK(std::count(run.out.begin(), run.out.end(), '\n') == 3);
  CHECK(server.handler.calls() == std::vector<std::string>{"sessions"});
}

TEST_CASE("ctl sessions escapes control characters that came from peers") {
  TempDir dir;
  RunningServer server(dir / "control.sock");
  auto rows = two_sessions();
  rows[0].user = "eve\x1b[2J\nforged line";
  server.handler.session_rows = rows;

  const auto run = ctl(server.path(), {"sessions"});
  CHECK(run.status == 0);
  CHECK(run.out.find('\x1b') == std::string::npos);
  CHECK_THAT(line_of(run.out, "0f3a9c21"), Catch::Contains("eve\\x1b[2J\\nforged line"));
}

TEST_CASE("ctl sessions says so when there are none") {
  TempDir dir;
  RunningServer server(dir / "control.sock");
  const auto run = ctl(server.path(), {"sessions"});
  CHECK(run.status == 0);
  CHECK(run.out == "no sessions\n");
}

TEST_CASE("ctl bans prints the ban table") {
  TempDir dir;
  RunningServer server(dir / "control.sock");
  server.handler.ban_rows = {{"192.0.2.7/32", 5, "2026-01-01T10:00:00.000Z", 2}, {"2001:db8:1::/64", 3, "", 0}};

  const auto run = ctl(server.path(), {"bans"});
  INFO(run.out << run.err);
  CHECK(run.status == 0);
  CHECK_THAT(run.out, Catch::StartsWith("KEY "));
  CHECK_THAT(run.out, Catch::Contains("FAILURES") && Catch::Contains("BANNED UNTIL") && Catch::Contains("LEVEL"));
  const std::string banned = line_of(run.out, "192.0.2.7/32");
  CHECK_THAT(banned, Catch::Contains(" 5 "));
  CHECK_THAT(banned, Catch::Contains("2026-01-01T10:00:00.000Z"));
  CHECK_THAT(banned, Catch::EndsWith("2"));
  const std::string counting = line_of(run.out, "2001:db8:1::/64");
  CHECK_THAT(counting, Catch::Contains(" 3 "));
  CHECK_THAT(counting, Catch::Contains(" - "));
  CHECK(server.handler.calls() == std::vector<std::string>{"bans"});
}

TEST_CASE("ctl unban of a known address prints the server's line and exits 0") {
  TempDir dir;
  RunningServer server(dir / "control.sock");
  server.handler.banned = {"192.0.2.7"};
  const auto run = ctl(server.path(), {"unban", "192.0.2.7"});
  CHECK(run.status == 0);
  CHECK(run.out == "unbanned 192.0.2.7\n");
  CHECK(run.err.empty());
  CHECK(server.handler.calls() == std::vector<std::string>{"unban 192.0.2.7"});
}

TEST_CASE("ctl unban of an unknown address exits 1 with the server's error") {
  TempDir dir;
  RunningServer server(dir / "control.sock");
  const auto run = ctl(server.path(), {"unban", "198.51.100.1"});
  CHECK(run.status == 1);
  CHECK(run.out.empty());
  CHECK(run.err == "vnc-hooks-manager ctl: no ban or failures recorded for 198.51.100.1\n");
}

TEST_CASE("ctl kill of a live session exits 0") {
  TempDir dir;
  RunningServer server(dir / "control.sock");
  server.handler.live_sessions = {"0f3a9c21"};
  const auto run = ctl(server.path(), {"kill", "0f3a9c21"});
  CHECK(run.status == 0);
  CHECK(run.out == "session 0f3a9c21 killed\n");
  CHECK(server.handler.calls() == std::vector<std::string>{"kill 0f3a9c21"});
}

TEST_CASE("ctl kill of an unknown session exits 1 with the server's error") {
  TempDir dir;
  RunningServer server(dir / "control.sock");
  const auto run = ctl(server.path(), {"kill", "deadbeef"});
  CHECK(run.status == 1);
  CHECK(run.out.empty());
  CHECK(run.err == "vnc-hooks-manager ctl: no session deadbeef\n");
}

TEST_CASE("ctl --json prints the response as one valid JSON line") {
  TempDir dir;
  RunningServer server(dir / "control.sock");
  server.handler.session_rows = two_sessions();

  auto run = ctl(server.path(), {"sessions"}, true);
  CHECK(run.status == 0);
  REQUIRE_FALSE(run.out.empty());
  CHECK(run.out.back() == '\n');
  CHECK(std::count(run.out.begin(), run.out.end(), '\n') == 1);
  json::error_code error;
  json::value value = json::parse(run.out, error);
  REQUIRE_FALSE(error);
  CHECK(value.at("ok") == true);
  const auto& sessions = value.at("sessions").as_array();
  REQUIRE(sessions.size() == 2);
  CHECK(sessions[1].at("client_ip") == "2001:db8::5");
  CHECK(sessions[0].at("bytes_out").to_number<std::uint64_t>() == 3 * 1024 * 1024);

  run = ctl(server.path(), {"kill", "deadbeef"}, true);  // errors too, with exit 1
  CHECK(run.status == 1);
  value = json::parse(run.out, error);
  REQUIRE_FALSE(error);
  CHECK(value.at("ok") == false);
  CHECK(value.at("error") == "no session deadbeef");
}

TEST_CASE("ctl usage errors exit 2 without contacting the proxy") {
  TempDir dir;
  const auto nowhere = dir / "absent.sock";  // nothing listens: reaching it would exit 1
  for (const auto& words : std::vector<std::vector<std::string>>{
           {}, {"frobnicate"}, {"unban"}, {"kill"}, {"sessions", "extra"}, {"kill", "a", "b"}, {"unban", ""}}) {
    const auto run = ctl(nowhere, words);
    INFO(run.err);
    CHECK(run.status == 2);
    CHECK_THAT(run.err, Catch::Contains("ctl --help"));
    CHECK(run.out.empty());
  }
}

TEST_CASE("ctl names the socket path and the config key when nothing listens") {
  TempDir dir;
  const auto nowhere = dir / "absent.sock";
  const auto run = ctl(nowhere, {"sessions"});
  CHECK(run.status == 1);
  CHECK(run.out.empty());
  CHECK_THAT(run.err, Catch::Contains(nowhere.native()));
  CHECK_THAT(run.err, Catch::Contains("control: socket:"));
  CHECK_THAT(run.err, Catch::Contains("running"));
}

TEST_CASE("a handler exception becomes an error response and the server keeps serving") {
  TempDir dir;
  RunningServer server(dir / "control.sock");
  server.handler.throw_on_kill = true;
  auto run = ctl(server.path(), {"kill", "s1"});
  CHECK(run.status == 1);
  CHECK_THAT(run.err, Catch::Contains("internal error: boom"));
  run = ctl(server.path(), {"sessions"});
  CHECK(run.status == 0);
}
