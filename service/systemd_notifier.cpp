#include "service/systemd_notifier.hpp"

#include <systemd/sd-daemon.h>
#include <time.h>

#include <cstdlib>
#include <cstring>

#include "util/log.hpp"

#include "service/status_text.hpp"

namespace vhm::service {
namespace {

constexpr std::chrono::seconds status_interval{1};

// systemd >= 253 wants the reload's start time with RELOADING=1; older ones ignore it.
std::string monotonic_usec() {
  timespec now{};
  ::clock_gettime(CLOCK_MONOTONIC, &now);
  return std::to_string(static_cast<unsigned long long>(now.tv_sec) * 1'000'000ULL +
                        static_cast<unsigned long long>(now.tv_nsec) / 1'000ULL);
}

}  // namespace

SystemdNotifier::SystemdNotifier(boost::asio::io_context& io)
    : watchdog_timer_(io), status_timer_(io), throttle_(status_interval) {
  const char* socket = std::getenv("NOTIFY_SOCKET");
  enabled_ = socket != nullptr && *socket != '\0';
  std::uint64_t usec = 0;
  // unset_environment=1: WATCHDOG_USEC/WATCHDOG_PID go away, whatever the answer.
  if (::sd_watchdog_enabled(1, &usec) > 0 && enabled_ && usec > 0)
    watchdog_interval_ = std::chrono::microseconds(usec / 2);
}

SystemdNotifier::~SystemdNotifier() {
  watchdog_timer_.cancel();
  status_timer_.cancel();
}

void SystemdNotifier::send(const std::string& message) {
  if (!enabled_) return;
  const int result = ::sd_notify(0, message.c_str());
  if (result < 0 && !send_failed_) {
    send_failed_ = true;  // once: a broken socket would otherwise log every second
    spdlog::warn("systemd: cannot send a notification: {}", std::strerror(-result));
  }
}

std::string SystemdNotifier::status() const { return counts_text(listeners_, sessions_); }

void SystemdNotifier::ready(std::size_t listeners) {
  listeners_ = listeners;
  send("READY=1\nSTATUS=" + one_line("running: " + status()));
  throttle_.sent(UpdateThrottle::Clock::now());
  if (watchdog_interval_.count() > 0 && !stopping_) {
    spdlog::info("systemd: watchdog ping every {} ms", watchdog_interval_.count() / 1000);
    watchdog_timer_.cancel();
    ping_watchdog();
  }
}

void SystemdNotifier::reloading() {
  send("RELOADING=1\nMONOTONIC_USEC=" + monotonic_usec() + "\nSTATUS=" + one_line("reloading: " + status()));
}

void SystemdNotifier::reloaded(bool ok, const std::string& error) {
  if (listener_count_) listeners_ = listener_count_();
  const std::string text = ok ? "running: " + status()
                              : "running: " + status() + "; reload failed, old configuration kept: " + error;
  send("READY=1\nSTATUS=" + one_line(text));
  throttle_.sent(UpdateThrottle::Clock::now());
}

void SystemdNotifier::stopping() {
  stopping_ = true;
  listeners_ = 0;  // the server closes every listener first
  // Timers would keep io_context::run() from returning; systemd stops
  // watching the watchdog once it hears STOPPING=1.
  watchdog_timer_.cancel();
  status_timer_.cancel();
  status_pending_ = false;
  send("STOPPING=1\nSTATUS=" + one_line("stopping: " + status()));
}

void SystemdNotifier::sessions_changed(std::size_t sessions) {
  sessions_ = sessions;
  if (!enabled_) return;
  if (stopping_) {  // shutdown is short and rare: every change, no timer
    send("STATUS=" + one_line("stopping: " + status()));
    return;
  }
  if (status_pending_) return;  // the trailing update will carry this count
  const auto wait = throttle_.delay(UpdateThrottle::Clock::now());
  if (wait == UpdateThrottle::Clock::duration::zero()) {
    send_status();
    return;
  }
  status_pending_ = true;
  status_timer_.expires_after(wait);
  status_timer_.async_wait([this](const boost::system::error_code& error) {
    if (error || !status_pending_) return;
    send_status();
  });
}

void SystemdNotifier::send_status() {
  status_pending_ = false;
  send("STATUS=" + one_line("running: " + status()));
  throttle_.sent(UpdateThrottle::Clock::now());
}

void SystemdNotifier::ping_watchdog() {
  if (stopping_) return;
  send("WATCHDOG=1");
  watchdog_timer_.expires_after(watchdog_interval_);
  watchdog_timer_.async_wait([this](const boost::system::error_code& error) {
    if (!error) ping_watchdog();
  });
}

}  // namespace vhm::service
