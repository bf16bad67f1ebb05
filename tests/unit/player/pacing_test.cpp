#include <catch2/catch.hpp>

#include "player/pacing.hpp"

using vhm::player::due_after;
using vhm::player::Pace;
using vhm::player::seconds_to_us;
using std::chrono::microseconds;

TEST_CASE("pacing: blocks are due at their recorded time divided by the speed") {
  CHECK(due_after(Pace{1.0, 0}, 0) == microseconds{0});
  CHECK(due_after(Pace{1.0, 0}, 500'000) == microseconds{500'000});
  CHECK(due_after(Pace{2.0, 0}, 500'000) == microseconds{250'000});
  CHECK(due_after(Pace{0.5, 0}, 500'000) == microseconds{1'000'000});
  CHECK(due_after(Pace{3.0, 0}, 1'000'000) == microseconds{333'333});
}

TEST_CASE("pacing: --start sends what came before at once, then paces from there") {
  const Pace pace{2.0, 10'000'000};
  CHECK(due_after(pace, 0) == microseconds{0});
  CHECK(due_after(pace, 9'999'999) == microseconds{0});
  CHECK(due_after(pace, 10'000'000) == microseconds{0});
  CHECK(due_after(pace, 12'000'000) == microseconds{1'000'000});
}

TEST_CASE("pacing: extreme values saturate instead of overflowing") {
  const auto far = due_after(Pace{1e-9, 0}, UINT64_MAX);
  CHECK(far.count() > 0);
  CHECK(far >= due_after(Pace{1e-9, 0}, 1'000'000));
  CHECK(due_after(Pace{1e6, 0}, UINT64_MAX).count() > 0);
}

TEST_CASE("pacing: --start seconds to recording microseconds") {
  CHECK(seconds_to_us(0) == 0);
  CHECK(seconds_to_us(-3) == 0);
  CHECK(seconds_to_us(1.5) == 1'500'000);
  CHECK(seconds_to_us(0.0000004) == 0);
  CHECK(seconds_to_us(0.0000006) == 1);
  CHECK(seconds_to_us(1e300) == UINT64_MAX);
}
