#include "hooks/metrics/event_metrics.hpp"

#include <charconv>

namespace vhm::hooks {

using conf::EventKind;
using conf::Field;

namespace {

constexpr std::string_view metric_prefix = "vnc_hooks_manager_";

// Each counter's # HELP text, by name without the prefix (docs/metrics.md lists them all).
struct CounterHelp {
  std::string_view name;
  std::string_view help;
};
constexpr CounterHelp counter_help[] = {
    {"events_total", "Events published, by event."},
    {"sessions_total", "Sessions accepted (connect events), by listener address."},
    {"auth_successes_total", "Authentications the server accepted (auth_success events), by listener."},
    {"auth_failures_total", "Authentications the server rejected (auth_failure events), by listener."},
    {"handshakes_total", "Finished sessions by how their handshake ended: authenticated, auth_failed, else the disconnect reason."},
    {"disconnects_total", "Sessions ended, by the disconnect event's reason."},
    {"bans_total", "Bans started (ban events)."},
    {"blocked_connections_total", "Connections refused by policy before dialing (blocked events), by reason."},
    {"recordings_started_total", "Recordings opened (recording_started events)."},
    {"recordings_finished_total", "Recordings closed complete (recording_finished events)."},
    {"recordings_failed_total", "Recordings that could not be written (recording_failed events)."},
    {"recorded_bytes_total", "Bytes written to finished recording files (recording_finished's recording_bytes)."},
    {"clipboard_transfers_total", "Clipboard texts passed under a log rule (clipboard events), by direction."},
    {"clipboard_bytes_total", "Bytes of those clipboard texts, by direction."},
    {"bytes_total", "Bytes relayed, by direction: finished sessions plus the live sessions' counters."},
};

std::string_view help_of(std::string_view name) {
  for (const auto& entry : counter_help) {
    if (entry.name == name) return entry.help;
  }
  return {};
}

// A numeric event field; 0 when empty or not a number.
std::uint64_t event_number(const Event& event, Field field) {
  const auto& text = event[field];
  std::uint64_t value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  return error == std::errc{} && end == text.data() + text.size() ? value : 0;
}

// Label values from event fields come from closed sets (reasons, directions);
// an empty one is spelled out so the series stays readable.
std::string label_value(const std::string& value) { return value.empty() ? "unknown" : value; }

}  // namespace

MetricsEventSink::MetricsEventSink(EventSink& next, metrics::Registry& registry)
    : next_(next),
      registry_(registry),
      session_duration_(registry.histogram("vnc_hooks_manager_session_duration_seconds",
                                           "Length of finished sessions (the disconnect event's duration).",
                                           metrics::session_duration_buckets())) {
  // Series that alerts and dashboards read from the start, at 0.
  for (std::size_t kind = 0; kind < conf::event_kind_names.size(); ++kind)
    events_total_[kind] = &counter("events_total", {{"event", std::string(conf::event_kind_names[kind])}});
  for (const auto name : {"bans_total", "recordings_started_total", "recordings_finished_total",
                          "recordings_failed_total", "recorded_bytes_total"}) {
    counter(name);
  }
  bytes_in_total_ = &counter("bytes_total", {{"direction", "viewer_to_server"}});
  bytes_out_total_ = &counter("bytes_total", {{"direction", "server_to_viewer"}});
  counter("disconnects_total", {{"reason", "target_unreachable"}});
}

metrics::Counter& MetricsEventSink::counter(std::string_view name, const metrics::Labels& labels) {
  return registry_.counter(std::string(metric_prefix) + std::string(name), help_of(name), labels);
}

metrics::Counter& MetricsEventSink::labelled(std::string_view name, std::string_view label, std::string_view value,
                                             bool* created) {
  std::lock_guard lock(cache_mutex_);
  auto& by_value = cache_[name];
  if (const auto it = by_value.find(value); it != by_value.end()) return *it->second;
  auto& made = counter(name, {{std::string(label), std::string(value)}});
  by_value.emplace(std::string(value), &made);
  if (created) *created = true;
  return made;
}

void MetricsEventSink::add_listener(const std::string& listen) {
  const metrics::Labels labels{{"listener", listen}};
  for (const auto name : {"sessions_total", "auth_successes_total", "auth_failures_total"}) counter(name, labels);
}

void MetricsEventSink::publish(Event event, EventCompletion done) {
  count(event);
  next_.publish(std::move(event), std::move(done));
}

void MetricsEventSink::count(const Event& event) {
  events_total_[static_cast<std::size_t>(event.kind)]->inc();
  const auto& listen = event[Field::listen];
  switch (event.kind) {
    case EventKind::connect: {
      bool first = false;
      auto& sessions = labelled("sessions_total", "listener", listen, &first);
      if (first) add_listener(listen);  // its auth series at 0 too
      sessions.inc();
      break;
    }
    case EventKind::auth_success: {
      labelled("auth_successes_total", "listener", listen).inc();
      std::lock_guard lock(sessions_mutex_);
      sessions_[event.session_id()].auth_success = true;
      break;
    }
    case EventKind::auth_failure: {
      labelled("auth_failures_total", "listener", listen).inc();
      std::lock_guard lock(sessions_mutex_);
      sessions_[event.session_id()].auth_failure = true;
      break;
    }
    case EventKind::disconnect: count_disconnect(event); break;
    case EventKind::ban: counter("bans_total").inc(); break;
    case EventKind::blocked: labelled("blocked_connections_total", "reason", label_value(event[Field::reason])).inc(); break;
    case EventKind::recording_started: counter("recordings_started_total").inc(); break;
    case EventKind::recording_finished:
      counter("recordings_finished_total").inc();
      counter("recorded_bytes_total").inc(event_number(event, Field::recording_bytes));
      break;
    case EventKind::recording_failed: counter("recordings_failed_total").inc(); break;
    case EventKind::clipboard: {
      const auto direction = label_value(event[Field::direction]);
      labelled("clipboard_transfers_total", "direction", direction).inc();
      labelled("clipboard_bytes_total", "direction", direction).inc(event_number(event, Field::clipboard_bytes));
      break;
    }
    default: break;  // counted in events_total only
  }
}

void MetricsEventSink::count_disconnect(const Event& event) {
  SessionSeen seen;
  {
    std::lock_guard lock(sessions_mutex_);
    if (const auto it = sessions_.find(event.session_id()); it != sessions_.end()) {
      seen = it->second;
      sessions_.erase(it);
    }
  }
  const auto reason = label_value(event[Field::reason]);
  using namespace std::string_view_literals;  // all three views: a std::string branch would make a temporary
  const std::string_view outcome = seen.auth_success ? "authenticated"sv
                                   : seen.auth_failure ? "auth_failed"sv
                                                       : std::string_view(reason);
  labelled("handshakes_total", "outcome", outcome).inc();
  labelled("disconnects_total", "reason", reason).inc();
  session_duration_.observe(static_cast<double>(event_number(event, Field::duration)));
  bytes_in_total_->inc(event_number(event, Field::bytes_in));
  bytes_out_total_->inc(event_number(event, Field::bytes_out));
}

}  // namespace vhm::hooks
