#pragma once
// Tells systemd about the proxy's life (Type=notify): READY=1 once listening,
// RELOADING=1 / READY=1 around a SIGHUP reload, STOPPING=1 on shutdown,
// STATUS= with the listener and session counts (at most one per second), and
// WATCHDOG=1 at half of WATCHDOG_USEC. The pings come from a timer on the io
// thread, so an event loop that is stuck stops them and systemd restarts the
// service. Without NOTIFY_SOCKET (not started by systemd) it does nothing.
// io-thread only, like every LifecycleObserver call.
#include <chrono>
#include <cstddef>
#include <functional>
#include <string>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include "proxy/lifecycle_observer.hpp"
#include "service/update_throttle.hpp"

namespace vhm::service {

class SystemdNotifier final : public proxy::LifecycleObserver {
 public:
  // Reads NOTIFY_SOCKET, WATCHDOG_USEC and WATCHDOG_PID now and removes the
  // two watchdog variables from the environment (hooks must not inherit them).
  // Construct before other threads exist: it changes the environment.
  explicit SystemdNotifier(boost::asio::io_context& io);
  ~SystemdNotifier() override;
  SystemdNotifier(const SystemdNotifier&) = delete;
  SystemdNotifier& operator=(const SystemdNotifier&) = delete;

  bool enabled() const { return enabled_; }
  // Half of WATCHDOG_USEC; zero when systemd asked for no watchdog (or not for this pid).
  std::chrono::microseconds watchdog_interval() const { return watchdog_interval_; }
  // Where the listener count comes from after a reload (ready() gives the first).
  void set_listener_count(std::function<std::size_t()> count) { listener_count_ = std::move(count); }

  void ready(std::size_t listeners) override;
  void reloading() override;
  void reloaded(bool ok, const std::string& error) override;
  void stopping() override;
  void sessions_changed(std::size_t sessions) override;

 private:
  void send(const std::string& message);
  void send_status();
  std::string status() const;
  void ping_watchdog();

  boost::asio::steady_timer watchdog_timer_;
  boost::asio::steady_timer status_timer_;
  UpdateThrottle throttle_;
  bool enabled_ = false;
  std::chrono::microseconds watchdog_interval_{0};
  std::function<std::size_t()> listener_count_;
  std::size_t listeners_ = 0;
  std::size_t sessions_ = 0;
  bool status_pending_ = false;
  bool stopping_ = false;
  bool send_failed_ = false;
};

}  // namespace vhm::service
