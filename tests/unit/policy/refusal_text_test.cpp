#include <catch2/catch.hpp>

#include "policy/log_lines.hpp"
#include "policy/refusal_text.hpp"
#include "policy_test_support.hpp"

using namespace vhm::policy;
using namespace std::chrono_literals;
using test::t0;

TEST_CASE("refusal text: banned says the minutes left, rounded up, at least 1") {
  CHECK(banned_text(t0 + 1h, t0) == "Too many authentication failures; try again in 60 minutes");
  CHECK(banned_text(t0 + 59min + 1s, t0) == "Too many authentication failures; try again in 60 minutes");
  CHECK(banned_text(t0 + 59min, t0) == "Too many authentication failures; try again in 59 minutes");
  CHECK(banned_text(t0 + 1ms, t0) == "Too many authentication failures; try again in 1 minute");
  CHECK(banned_text(t0, t0) == "Too many authentication failures; try again in 1 minute");
  CHECK(banned_text(t0 + 24h, t0) == "Too many authentication failures; try again in 1440 minutes");
}

TEST_CASE("refusal text: the issue's texts for denied and the limits") {
  CHECK(refusal_text(Refusal::denied, "192.0.2.7") == "Connections from 192.0.2.7 are not allowed");
  CHECK(refusal_text(Refusal::session_limit, "192.0.2.7") == "Too many sessions; try again later");
  CHECK(refusal_text(Refusal::per_ip_limit, "2001:db8::1") == "Too many sessions from 2001:db8::1");
  CHECK(refusal_text(Refusal::rate_limit, "192.0.2.7") ==
        "Too many connections from 192.0.2.7; try again in a minute");
}

TEST_CASE("refusal text: reason codes are the blocked event's reasons") {
  CHECK(reason_code(Refusal::banned) == "banned");
  CHECK(reason_code(Refusal::denied) == "denied");
  CHECK(reason_code(Refusal::session_limit) == "session_limit");
  CHECK(reason_code(Refusal::per_ip_limit) == "per_ip_limit");
  CHECK(reason_code(Refusal::rate_limit) == "rate_limit");
}

TEST_CASE("refusal text: a gate's first output line, control characters stripped and trimmed") {
  CHECK(gate_refusal_text("Outside office hours\nsecond line\n") == "Outside office hours");
  CHECK(gate_refusal_text("  Outside\toffice\x1b[31m hours\r\n") == "Outsideoffice[31m hours");
  CHECK(gate_refusal_text("bell\x07 and del\x7f") == "bell and del");
}

TEST_CASE("refusal text: an empty or blank gate answer is the default text") {
  CHECK(gate_refusal_text("") == "Connection refused by policy");
  CHECK(gate_refusal_text("   \r\n") == "Connection refused by policy");
  CHECK(gate_refusal_text("\nthe second line does not count") == "Connection refused by policy");
  CHECK(gate_refusal_text(std::string("\x01\x02", 2)) == "Connection refused by policy");
}

TEST_CASE("refusal text: a gate answer is cut to 200 bytes without splitting a UTF-8 character") {
  CHECK(gate_refusal_text(std::string(300, 'x')) == std::string(200, 'x'));
  CHECK(gate_refusal_text(std::string(200, 'x')) == std::string(200, 'x'));
  // 199 ASCII bytes then a 2-byte character: byte 200 would split it.
  const std::string text = std::string(199, 'a') + "\xC3\xA9" + "tail";
  CHECK(gate_refusal_text(text) == std::string(199, 'a'));
  const std::string euros = std::string(198, 'a') + "\xE2\x82\xAC" + "z";  // € is 3 bytes: 198 + 3 > 200
  CHECK(gate_refusal_text(euros) == std::string(198, 'a'));
  const std::string fits = std::string(197, 'a') + "\xE2\x82\xAC" + "z";  // exactly 200 before "z"
  CHECK(gate_refusal_text(fits) == std::string(197, 'a') + "\xE2\x82\xAC");
}

TEST_CASE("log lines: the ban and blocked lines of the issue, exactly") {
  const Ban ban{"2001:db8:1:2::/64", 5, t0 + 1h + 617ms, 1h, 1};
  CHECK(ban_log_line("2001:db8:1:2::7", ban) ==
        "ban: client 2001:db8:1:2::7 banned until 2026-11-23T13:24:42.617Z (5 failures, key 2001:db8:1:2::/64, 3600s)");
  CHECK(blocked_log_line("192.0.2.7", Refusal::banned, banned_text(ban.until, t0)) ==
        "blocked: client 192.0.2.7 refused (banned): Too many authentication failures; try again in 61 minutes");
  CHECK(blocked_log_line("192.0.2.7", Refusal::denied, "evil\ntext") ==
        "blocked: client 192.0.2.7 refused (denied): evil\\ntext");
}
