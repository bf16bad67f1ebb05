#include <catch2/catch.hpp>

#include "util/iso_time.hpp"

TEST_CASE("iso time: event timestamps and file-name timestamps of the same instant") {
  using namespace std::chrono;
  const system_clock::time_point when{seconds(1795781234) + milliseconds(56)};  // 2026-11-27T12:07:14.056Z
  CHECK(vhm::util::iso8601_utc(when) == "2026-11-27T12:07:14.056Z");
  CHECK(vhm::util::compact_utc(when) == "20261127T120714Z");
}
