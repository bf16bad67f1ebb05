#pragma once
// When a recorded block is due for one viewer. Each viewer has its own
// timeline: time 0 is when its playback started (its first
// FramebufferUpdateRequest); blocks recorded before --start are due at once,
// later ones at (time - start) / speed.
#include <chrono>
#include <cstdint>

namespace vhm::player {

struct Pace {
  double speed = 1.0;          // > 0
  std::uint64_t start_us = 0;  // recording time shown first
};

// Offset from the viewer's playback start; saturates instead of overflowing
// (a tiny speed and a long recording).
std::chrono::microseconds due_after(const Pace& pace, std::uint64_t block_time_us);

// Seconds (from the command line) as recording microseconds; negative and NaN are 0.
std::uint64_t seconds_to_us(double seconds);

}  // namespace vhm::player
