#include "player/pacing.hpp"

#include <cmath>
#include <limits>

namespace vhm::player {
namespace {

// About 292 000 years: far beyond any wait, far from int64's end.
constexpr double max_due_us = 9.2e18;

}  // namespace

std::chrono::microseconds due_after(const Pace& pace, std::uint64_t block_time_us) {
  if (block_time_us <= pace.start_us) return std::chrono::microseconds{0};
  const double scaled = static_cast<double>(block_time_us - pace.start_us) / pace.speed;
  if (!(scaled < max_due_us)) return std::chrono::microseconds{static_cast<std::int64_t>(max_due_us)};
  return std::chrono::microseconds{static_cast<std::int64_t>(std::llround(scaled))};
}

std::uint64_t seconds_to_us(double seconds) {
  if (!(seconds > 0)) return 0;
  const double us = seconds * 1e6;
  if (!(us < 1.8e19)) return std::numeric_limits<std::uint64_t>::max();
  return static_cast<std::uint64_t>(std::floor(us + 0.5));
}

}  // namespace vhm::player
