// A ban state file whose end lies beyond what the clock can hold (system_clock
// counts nanoseconds: up to 2262) is refused, not overflowed into a garbage
// time (found by fuzz/ban_state.cpp: signed overflow converting until_ms).
#include <catch2/catch.hpp>

#include "policy/ban_store.hpp"

using namespace vhm::policy;

namespace {

std::string file_ending_at(std::string_view until_ms) {
  return R"({"version":1,"bans":[{"key":"192.0.2.7","until_ms":)" + std::string(until_ms) +
         R"(,"failures":5,"duration":3600,"level":1}]})";
}

const TimePoint new_year_2026{std::chrono::seconds(1'767'225'600)};  // 2026-01-01

}  // namespace

TEST_CASE("ban store: an end in the year 2457 is refused") {
  const auto loaded = bans_from_json(file_ending_at("15394766820200"), new_year_2026);
  CHECK(loaded.bans.empty());
  CHECK(loaded.error == "bans[0].until_ms is missing or not a Unix time in milliseconds");
}

TEST_CASE("ban store: an end far ahead but within the clock's range loads unchanged") {
  const auto loaded = bans_from_json(file_ending_at("4102444800000"), new_year_2026);  // 2100-01-01
  REQUIRE(loaded.error.empty());
  REQUIRE(loaded.bans.size() == 1);
  CHECK(loaded.bans[0].until == TimePoint(std::chrono::milliseconds(4'102'444'800'000)));
  CHECK(bans_from_json(bans_to_json(loaded.bans), new_year_2026).bans == loaded.bans);
}
