// The io loop's adaptive poll window (app/poll_window.hpp): it starts at the
// setting, halves to nothing while work keeps coming much later than it,
// doubles back while work comes within it, and never exceeds the setting.
#include <catch2/catch.hpp>

#include "app/poll_window.hpp"

using namespace std::chrono_literals;
using vhm::app::PollWindow;

namespace {
// The loop's side: work arrives `after` the poll began; the poll finds it if
// the window is long enough, else the loop sleeps until it comes.
void answer_after(PollWindow& window, PollWindow::duration after, PollWindow::duration limit) {
  const auto polled = window.next(limit);
  if (after >= polled) window.slept(polled, after - polled, limit);
}
}  // namespace

TEST_CASE("poll window: it starts at the setting and never exceeds it, also after a reload lowers it") {
  PollWindow window;
  CHECK(window.next(50us) == 50us);
  CHECK(window.next(200us) == 200us);
  answer_after(window, 300us, 200us);  // a little later than the setting (a handshake's answers vary): kept
  CHECK(window.next(200us) == 200us);
  answer_after(window, 1ms, 200us);  // more than 4 times the setting: shrink
  CHECK(window.next(200us) == 100us);
  answer_after(window, 150us, 200us);  // after the window, within the setting: grow, capped

  CHECK(window.next(200us) == 200us);
  CHECK(window.next(30us) == 30us);
}

TEST_CASE("poll window: a peer slower than the setting shrinks it to nothing, so the loop sleeps at once") {
  PollWindow window;
  const auto limit = 50us;
  int polls = 0;
  while (window.next(limit) > 0us) {  // an answer after 400 us every time, as Xvnc's
    answer_after(window, 400us, limit);
    REQUIRE(++polls < 10);
  }
  CHECK(polls == 3);  // 50 -> 25 -> 12 -> 0 (below the floor)
  answer_after(window, 400us, limit);
  CHECK(window.next(limit) == 0us);  // stays off while answers stay slow
}

TEST_CASE("poll window: answers that come within the setting grow it back from nothing") {
  PollWindow window;
  const auto limit = 50us;
  for (int i = 0; i < 4; ++i) answer_after(window, 1ms, limit);
  REQUIRE(window.next(limit) == 0us);
  answer_after(window, 30us, limit);  // slept, but the answer came after 30 us: polling would have caught it
  CHECK(window.next(limit) == PollWindow::floor);
  answer_after(window, 30us, limit);
  CHECK(window.next(limit) == 2 * PollWindow::floor);
  answer_after(window, 30us, limit);
  CHECK(window.next(limit) == 4 * PollWindow::floor);  // 32 us: now long enough for a 30 us answer
  for (int i = 0; i < 5; ++i) answer_after(window, 30us, limit);
  CHECK(window.next(limit) == 4 * PollWindow::floor);  // found in the window: kept
  answer_after(window, 40us, limit);                  // a little later, still within the setting
  CHECK(window.next(limit) == limit);
}
