#include "app/event_loop.hpp"

#include "app/poll_window.hpp"

namespace vhm::app {

void run_event_loop(boost::asio::io_context& io, const std::function<std::chrono::microseconds()>& busy_poll) {
  using clock = std::chrono::steady_clock;
  using std::chrono::duration_cast;
  using std::chrono::microseconds;
  PollWindow window;
  while (!io.stopped()) {
    const auto limit = busy_poll();
    if (limit.count() <= 0) {
      io.run_one();  // as run() does, one handler at a time so a reload can switch polling on
      continue;
    }
    if (io.poll() > 0) continue;  // handlers ran: their peers may answer at once
    const auto start = clock::now();
    const auto until = start + window.next(limit);
    bool ran = false;
    while (!ran && !io.stopped() && clock::now() < until) ran = io.poll() > 0;
    if (ran || io.stopped()) continue;
    const auto polled = clock::now();
    io.run_one();  // sleeps in epoll until there is work
    window.slept(duration_cast<microseconds>(polled - start), duration_cast<microseconds>(clock::now() - polled), limit);
  }
}

std::chrono::microseconds busy_poll_budget(unsigned always_us, unsigned handshake_us,
                                           std::size_t handshakes_in_flight) {
  const unsigned us = handshakes_in_flight > 0 && handshake_us > always_us ? handshake_us : always_us;
  return std::chrono::microseconds(us);
}

}  // namespace vhm::app
