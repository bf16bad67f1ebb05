#pragma once
// How long the io loop polls before it sleeps, adapted to how soon work has
// been coming, as KVM's halt polling does: a poll pays only when the next
// event arrives within it. Polling that keeps ending empty, the work coming
// long after (a server that needs half a millisecond per answer, a viewer
// that types), halves the window down to nothing; a sleep that ended within
// the configured maximum (the window was too short for an answer that came
// quickly) doubles it back. So a loop whose peers answer at once polls, and
// one whose peers are slow sleeps at once instead of burning CPU the peers
// may need.
#include <chrono>

namespace vhm::app {

class PollWindow {
 public:
  using duration = std::chrono::microseconds;
  // The first window after 0, and the smallest one worth polling for.
  static constexpr duration floor{8};
  // Work that came this many times the setting after the poll began shrinks
  // the window; work a little late (a handshake's answers vary) does not.
  static constexpr int slow_factor = 4;

  // The window for the next poll: the adapted one, within `limit` (the
  // setting, which a reload may change).
  duration next(duration limit) const { return window_ < limit ? window_ : limit; }
  // The poll (of `polled`) ended empty and the loop slept `slept` until work
  // came. Grows the window when that work came within `limit` of the start
  // of the poll, else shrinks it.
  void slept(duration polled, duration slept, duration limit);

 private:
  duration window_ = duration::max();  // unadapted: the limit until the first sleep
};

}  // namespace vhm::app
