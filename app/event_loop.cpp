#include "app/event_loop.hpp"

namespace vhm::app {

void run_event_loop(boost::asio::io_context& io, const std::function<std::chrono::microseconds()>& busy_poll) {
  using clock = std::chrono::steady_clock;
  while (!io.stopped()) {
    const auto spin = busy_poll();
    if (spin.count() <= 0) {
      io.run_one();  // as run() does, one handler at a time so a reload can switch polling on
      continue;
    }
    if (io.poll() > 0) continue;  // handlers ran: their peers may answer at once
    const auto until = clock::now() + spin;
    bool ran = false;
    while (!ran && !io.stopped() && clock::now() < until) ran = io.poll() > 0;
    if (!ran && !io.stopped()) io.run_one();  // sleeps in epoll until there is work
  }
}

}  // namespace vhm::app
