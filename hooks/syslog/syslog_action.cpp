// action: syslog: build the RFC 5424 message (rfc5424.hpp), send it through
// the shared socket table (syslog_sender.hpp), log failures without flooding.
#include "hooks/syslog/syslog_action.hpp"

#include <unistd.h>

#include <map>
#include <mutex>

#include "util/log.hpp"

#include "conf/placeholders.hpp"
#include "hooks/syslog/rfc5424.hpp"
#include "hooks/syslog/syslog_sender.hpp"
#include "util/printable.hpp"

namespace vhm::hooks {
namespace {

syslog::SyslogSender& shared_sender() {
  static syslog::SyslogSender sender;
  return sender;
}

std::string host_name() {
  char name[256] = {};
  if (::gethostname(name, sizeof(name) - 1) != 0) return "-";
  return name;
}

// A target that keeps failing is logged at the first failure of a burst and
// then at most once a minute (with the count); its recovery is logged once.
class FailureLog {
 public:
  void failed(const std::string& target, const conf::HookConfig& hook, const Event& event, const std::string& error) {
    std::lock_guard lock(mutex_);
    State& state = states_[target];
    const auto now = std::chrono::steady_clock::now();
    ++state.failures;
    if (state.failures > 1 && now - state.last_logged < quiet_period) {
      ++state.unlogged;
      spdlog::debug("hook {} [session {}] syslog to {} failed: {}", util::printable(hook.name),
                    util::printable(event.session_id()), util::printable(target), error);
      return;
    }
    const std::string more =
        state.unlogged > 0 ? " (" + std::to_string(state.unlogged) + " more failures since the last message)" : "";
    spdlog::warn("hook {} [session {}] syslog to {} failed: {}{}", util::printable(hook.name),
                 util::printable(event.session_id()), util::printable(target), error, more);
    state.last_logged = now;
    state.unlogged = 0;
  }

  void succeeded(const std::string& target) {
    std::lock_guard lock(mutex_);
    auto it = states_.find(target);
    if (it == states_.end()) return;
    spdlog::info("syslog to {} works again after {} failed message(s)", util::printable(target),
                 it->second.failures);
    states_.erase(it);
  }

 private:
  static constexpr std::chrono::seconds quiet_period{60};
  struct State {
    std::uint64_t failures = 0;
    std::uint64_t unlogged = 0;
    std::chrono::steady_clock::time_point last_logged{};
  };
  std::mutex mutex_;
  std::map<std::string, State> states_;
};

FailureLog& failure_log() {
  static FailureLog log;
  return log;
}

std::string message_text(const conf::HookConfig& hook, const Event& event) {
  if (!hook.syslog.message) return syslog::event_summary(event);
  return conf::expand_placeholders(*hook.syslog.message, [&](std::string_view name) {
    const auto field = conf::parse_field(name);
    return field ? event[*field] : std::string();
  });
}

}  // namespace

HookResult run_syslog_action(const conf::HookConfig& hook, const Event& event) {
  const auto deadline = syslog::SyslogSender::Clock::now() + hook.timeout;
  static const std::string hostname = host_name();
  static const std::string procid = std::to_string(::getpid());

  syslog::Origin origin;
  origin.facility = hook.syslog.facility;
  origin.severity = hook.syslog.severity.value_or(syslog::default_severity(event.kind));
  origin.hostname = hostname;
  origin.app_name = hook.syslog.app_name;
  origin.procid = procid;
  const std::string message =
      syslog::format_message(origin, event, message_text(hook, event), std::chrono::system_clock::now());

  HookResult result;
  result.name = hook.name;
  result.ran = true;
  const std::string target = syslog::describe_target(hook.syslog);
  const auto outcome = shared_sender().send(hook.syslog, message, deadline);
  if (outcome.ok) {
    result.exit_code = 0;
    failure_log().succeeded(target);
    spdlog::debug("hook {} [session {}] sent {} event to syslog {}", util::printable(hook.name),
                  util::printable(event.session_id()), conf::to_string(event.kind), util::printable(target));
  } else {
    result.exit_code = 1;
    result.timed_out = outcome.timed_out;
    failure_log().failed(target, hook, event, outcome.error);
  }
  return result;
}

}  // namespace vhm::hooks
