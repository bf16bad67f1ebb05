#include <catch2/catch.hpp>

#include "conf/duration.hpp"

using namespace std::chrono_literals;
using vhm::conf::format_duration;
using vhm::conf::parse_duration;

namespace {

std::chrono::milliseconds parsed(std::string_view text) {
  std::string error;
  const auto value = parse_duration(text, error);
  INFO(text << ": " << error);
  REQUIRE(value);
  return *value;
}

std::string rejected(std::string_view text) {
  std::string error;
  const auto value = parse_duration(text, error);
  INFO(text);
  REQUIRE_FALSE(value);
  REQUIRE_FALSE(error.empty());
  return error;
}

}  // namespace

TEST_CASE("duration: a plain number is seconds, possibly fractional") {
  CHECK(parsed("30") == 30s);
  CHECK(parsed("0.5") == 500ms);
  CHECK(parsed("1.25") == 1250ms);
  CHECK(parsed("0.001") == 1ms);
}

TEST_CASE("duration: ms, s, m and h suffixes") {
  CHECK(parsed("500ms") == 500ms);
  CHECK(parsed("30s") == 30s);
  CHECK(parsed("10m") == 10min);
  CHECK(parsed("1h") == 1h);
  CHECK(parsed("1.5s") == 1500ms);
  CHECK(parsed("0.5m") == 30s);
}

TEST_CASE("duration: d is days of 24 hours (retention periods)") {
  CHECK(parsed("1d") == 24h);
  CHECK(parsed("30d") == 720h);
  CHECK(parsed("0.5d") == 12h);
  CHECK(parsed("11574d") == 11574 * 24h);
  CHECK(rejected("0d") == "must be greater than 0");
  CHECK(rejected("11575d").find("too long") != std::string::npos);
  for (const char* text : {"1D", "1day", "1days", "d", "1 d", "1dd"})
    CHECK(rejected(text).find("30d") != std::string::npos);
}

TEST_CASE("duration: zero and negative values are rejected as not greater than 0") {
  CHECK(rejected("0") == "must be greater than 0");
  CHECK(rejected("0ms") == "must be greater than 0");
  CHECK(rejected("0.0h") == "must be greater than 0");
  CHECK(rejected("-1") == "must be greater than 0");
  CHECK(rejected("-5s") == "must be greater than 0");
}

TEST_CASE("duration: less than one millisecond is rejected") {
  CHECK(rejected("0.0001") == "must be at least 1ms");
  CHECK(rejected("0.4ms") == "must be at least 1ms");
}

TEST_CASE("duration: malformed text names the accepted syntax") {
  for (const char* text : {"", "abc", "s", "5x", "5 s", " 5", "5 ", "1e3", "5.", ".5", "1.2.3", "10sec", "+5", "5S"}) {
    const std::string error = rejected(text);
    CHECK(error.find("500ms") != std::string::npos);
  }
}

TEST_CASE("duration: absurdly long values are rejected, not overflowed") {
  CHECK(rejected("99999999999999999999h").find("too long") != std::string::npos);
  CHECK(parsed("8760h") == 8760h);
}

TEST_CASE("duration: format_duration picks the largest exact unit") {
  CHECK(format_duration(500ms) == "500ms");
  CHECK(format_duration(1500ms) == "1500ms");
  CHECK(format_duration(30s) == "30s");
  CHECK(format_duration(90s) == "90s");
  CHECK(format_duration(10min) == "10m");
  CHECK(format_duration(2h) == "2h");
}
