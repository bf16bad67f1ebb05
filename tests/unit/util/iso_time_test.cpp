#include <catch2/catch.hpp>

#include "util/iso_time.hpp"

TEST_CASE("iso time: event timestamps and file-name timestamps of the same instant") {
  using namespace std::chrono;
  const system_clock::time_point when{seconds(1795781234) + milliseconds(56)};  // 2026-11-27T12:07:14.056Z
  CHECK(vhm::util::iso8601_utc(when) == "2026-11-27T12:07:14.056Z");
  CHECK(vhm::util::compact_utc(when) == "20261127T120714Z");
}

TEST_CASE("iso time: calendar edges (epoch, leap day, century, end of a year)") {
  using namespace std::chrono;
  const auto at = [](long long secs, int millis) { return system_clock::time_point{seconds(secs) + milliseconds(millis)}; };
  CHECK(vhm::util::iso8601_utc(at(0, 0)) == "1970-01-01T00:00:00.000Z");
  CHECK(vhm::util::iso8601_utc(at(1709251199, 999)) == "2024-02-29T23:59:59.999Z");
  CHECK(vhm::util::iso8601_utc(at(951868800, 1)) == "2000-03-01T00:00:00.001Z");
  CHECK(vhm::util::iso8601_utc(at(4102444799, 500)) == "2099-12-31T23:59:59.500Z");
  // Sub-millisecond parts are cut, not rounded (as before).
  CHECK(vhm::util::iso8601_utc(system_clock::time_point{seconds(0) + microseconds(1999)}) == "1970-01-01T00:00:00.001Z");
}
