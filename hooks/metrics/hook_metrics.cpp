#include "hooks/metrics/hook_metrics.hpp"

#include <map>
#include <memory>
#include <mutex>
#include <string>

namespace vhm::hooks {
namespace {

std::string_view hook_action_name(conf::HookAction action) {
  switch (action) {
    case conf::HookAction::command: return "command";
    case conf::HookAction::log: return "log";
    case conf::HookAction::webhook: return "webhook";
    case conf::HookAction::syslog: return "syslog";
  }
  return "unknown";
}

// Keeps the instruments already looked up, so an attempt usually costs a few
// atomic increments and no registry lock.
class AttemptCounters {
 public:
  explicit AttemptCounters(metrics::Registry& registry) : registry_(registry) {}

  void count(const AttemptReport& report) {
    const auto action = std::string(hook_action_name(report.hook.action));
    const auto result = std::string(attempt_result(report));
    std::lock_guard lock(mutex_);
    auto& runs = runs_[{action, result}];
    if (runs == nullptr) {
      runs = &registry_.counter("vnc_hooks_manager_hook_runs_total", "Hook handler attempts, by action and result.",
                                {{"action", action}, {"result", result}});
    }
    runs->inc();
    auto& duration = durations_[action];
    if (duration == nullptr) {
      duration = &registry_.histogram("vnc_hooks_manager_hook_duration_seconds",
                                      "How long hook handler attempts took, by action.",
                                      metrics::hook_duration_buckets(), {{"action", action}});
    }
    duration->observe(report.elapsed.count());
    if (report.hook.action == conf::HookAction::webhook) {
      const int status = report.result.http_status;
      auto& deliveries = webhooks_[status];
      if (deliveries == nullptr) {
        deliveries = &registry_.counter("vnc_hooks_manager_webhook_deliveries_total",
                                        "Webhook requests, by the reply's HTTP status (error: no reply).",
                                        {{"status", status == 0 ? std::string("error") : std::to_string(status)}});
      }
      deliveries->inc();
    }
  }

 private:
  metrics::Registry& registry_;
  std::mutex mutex_;  // the dispatcher may run several workers' attempts at once
  std::map<std::pair<std::string, std::string>, metrics::Counter*> runs_;
  std::map<std::string, metrics::Histogram*> durations_;
  std::map<int, metrics::Counter*> webhooks_;
};

}  // namespace

std::string_view attempt_result(const AttemptReport& report) {
  if (report.terminated) return "terminated";
  if (!report.result.ran) return "not_started";
  if (report.result.timed_out) return "timed_out";
  return report.result.ok() ? "ok" : "failed";
}

AttemptObserver hook_attempt_metrics(metrics::Registry& registry) {
  // The "no reply" series exists from the start, for the delivery-error alert.
  registry.counter("vnc_hooks_manager_webhook_deliveries_total",
                   "Webhook requests, by the reply's HTTP status (error: no reply).", {{"status", "error"}});
  auto counters = std::make_shared<AttemptCounters>(registry);
  return [counters](const AttemptReport& report) { counters->count(report); };
}

metrics::Registry::Collector dispatcher_stats_collector(std::function<DispatcherStats()> stats) {
  return [stats = std::move(stats)](metrics::SampleWriter& out) {
    const auto now = stats();
    out.gauge("vnc_hooks_manager_hook_queue_depth", "Hook handler runs waiting now.", {}, static_cast<double>(now.queued));
    out.gauge("vnc_hooks_manager_hooks_running", "Hook handler runs in progress now.", {},
              static_cast<double>(now.running));
    out.gauge("vnc_hooks_manager_webhooks_in_flight", "Webhook requests in flight now.", {},
              static_cast<double>(now.webhooks_in_flight));
    out.counter("vnc_hooks_manager_hook_events_published_total", "Events handed to the hook dispatcher.", {},
                static_cast<double>(now.events_published));
    out.counter("vnc_hooks_manager_hook_events_dropped_total",
                "Events whose hooks were dropped because the hook queue was full (global.hook_queue_limit).", {},
                static_cast<double>(now.events_dropped));
  };
}

}  // namespace vhm::hooks
