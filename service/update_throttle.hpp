#pragma once
// At most one status update per interval. A change inside the interval is not
// lost: the caller waits for the returned delay and then sends the newest
// value (a trailing update), so the last state always gets through.
#include <chrono>
#include <optional>

namespace vhm::service {

class UpdateThrottle {
 public:
  using Clock = std::chrono::steady_clock;

  explicit UpdateThrottle(Clock::duration interval) : interval_(interval) {}

  // Zero when an update may go out at `now`; otherwise how long to wait.
  Clock::duration delay(Clock::time_point now) const {
    if (!last_ || now - *last_ >= interval_) return Clock::duration::zero();
    return *last_ + interval_ - now;
  }
  void sent(Clock::time_point now) { last_ = now; }

 private:
  Clock::duration interval_;
  std::optional<Clock::time_point> last_;
};

}  // namespace vhm::service
