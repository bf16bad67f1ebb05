#include "app/poll_window.hpp"

#include <algorithm>

namespace vhm::app {

void PollWindow::slept(duration polled, duration slept, duration limit) {
  window_ = std::min(window_, limit);
  const auto waited = polled + slept;
  if (waited <= limit) {
    window_ = window_ < floor ? floor : std::min(limit, window_ * 2);
  } else if (waited > slow_factor * limit) {
    window_ /= 2;
    if (window_ < floor) window_ = duration::zero();
  }
}

}  // namespace vhm::app
