#include <catch2/catch.hpp>

#include "service/status_text.hpp"
#include "service/update_throttle.hpp"

using vhm::service::counts_text;
using vhm::service::one_line;
using vhm::service::UpdateThrottle;
using namespace std::chrono_literals;

TEST_CASE("status text: counts with singular and plural nouns") {
  CHECK(counts_text(1, 0) == "1 listener, 0 sessions");
  CHECK(counts_text(2, 1) == "2 listeners, 1 session");
  CHECK(counts_text(0, 4096) == "0 listeners, 4096 sessions");
}

TEST_CASE("status text: one_line turns control characters into spaces so a text cannot add a notify variable") {
  CHECK(one_line("reload failed:\nREADY=1\r\tx\x7f") == "reload failed: READY=1  x ");
  CHECK(one_line("plain") == "plain");
}

TEST_CASE("status text: one_line cuts long text to the limit with an ellipsis, never inside a UTF-8 sequence") {
  CHECK(one_line(std::string(300, 'a')) == std::string(197, 'a') + "...");
  CHECK(one_line(std::string(300, 'a')).size() == 200);
  CHECK(one_line("abcdefghij", 10) == "abcdefghij");
  // "aaaaé..." : the two-byte é would be split at byte 7 of a 10-byte limit.
  CHECK(one_line("aaaaaa\xC3\xA9zzzz", 10) == "aaaaaa...");
  CHECK(one_line("aaaaa\xC3\xA9zzzz", 10) == "aaaaa\xC3\xA9...");
}

TEST_CASE("update throttle: the first update goes out at once, the next waits out the interval") {
  UpdateThrottle throttle(1s);
  const auto start = UpdateThrottle::Clock::time_point{} + 100s;
  CHECK(throttle.delay(start) == 0s);
  throttle.sent(start);
  CHECK(throttle.delay(start) == 1s);
  CHECK(throttle.delay(start + 300ms) == 700ms);
  CHECK(throttle.delay(start + 1s) == 0s);
  CHECK(throttle.delay(start + 5s) == 0s);
  throttle.sent(start + 5s);
  CHECK(throttle.delay(start + 5s + 999ms) == 1ms);
}
