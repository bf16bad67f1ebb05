#include <future>
#include <thread>

#include "hooks/metrics/event_metrics.hpp"
#include "hooks/metrics/hook_metrics.hpp"

namespace {

using vhm::conf::EventKind;
using vhm::conf::Field;

// Remembers what reached the next sink.
class RecordingSink final : public vhm::hooks::EventSink {
 public:
  void publish(vhm::hooks::Event event, vhm::hooks::EventCompletion done) override {
    events.push_back(std::move(event));
    if (done) done(vhm::hooks::EventOutcome{});
  }
  std::vector<vhm::hooks::Event> events;
};

vhm::hooks::Event metrics_event(EventKind kind, const std::string& session,
                                std::initializer_list<std::pair<Field, std::string>> fields = {}) {
  vhm::hooks::Event event;
  event.kind = kind;
  event[Field::event] = std::string(vhm::conf::to_string(kind));
  event[Field::session_id] = session;
  event[Field::listen] = "127.0.0.1:5900";
  for (const auto& [field, value] : fields) event[field] = value;
  return event;
}

bool page_has(const std::string& page, const std::string& line) { return page.find(line + "\n") != std::string::npos; }

}  // namespace

TEST_CASE("metrics sink: events are counted and forwarded unchanged, with their completion") {
  vhm::metrics::Registry registry;
  RecordingSink next;
  vhm::hooks::MetricsEventSink sink(next, registry);
  bool completed = false;
  sink.publish(metrics_event(EventKind::connect, "s1", {{Field::client_ip, "192.0.2.1"}}),
               [&completed](const vhm::hooks::EventOutcome&) { completed = true; });
  CHECK(completed);
  REQUIRE(next.events.size() == 1);
  CHECK(next.events[0].kind == EventKind::connect);
  CHECK(next.events[0][Field::client_ip] == "192.0.2.1");
  const auto page = registry.render();
  CHECK(page_has(page, "vnc_hooks_manager_sessions_total{listener=\"127.0.0.1:5900\"} 1"));
  CHECK(page_has(page, "vnc_hooks_manager_auth_failures_total{listener=\"127.0.0.1:5900\"} 0"));
  CHECK(page_has(page, "vnc_hooks_manager_events_total{event=\"connect\"} 1"));
  CHECK(page_has(page, "vnc_hooks_manager_events_total{event=\"disconnect\"} 0"));
  CHECK(page_has(page, "vnc_hooks_manager_bans_total 0"));
}

TEST_CASE("metrics sink: repeated events count on one series; another listener's first connect adds its series") {
  vhm::metrics::Registry registry;
  RecordingSink next;
  vhm::hooks::MetricsEventSink sink(next, registry);
  for (int i = 0; i < 3; ++i) sink.publish(metrics_event(EventKind::connect, "a" + std::to_string(i)));
  sink.publish(metrics_event(EventKind::auth_failure, "a0"));
  auto other = metrics_event(EventKind::connect, "b0");
  other[Field::listen] = "[::1]:5901";
  sink.publish(std::move(other));
  for (int i = 0; i < 3; ++i)
    sink.publish(metrics_event(EventKind::disconnect, "a" + std::to_string(i), {{Field::reason, "client_closed"}}));
  const auto page = registry.render();
  CHECK(page_has(page, "vnc_hooks_manager_sessions_total{listener=\"127.0.0.1:5900\"} 3"));
  CHECK(page_has(page, "vnc_hooks_manager_auth_failures_total{listener=\"127.0.0.1:5900\"} 1"));
  CHECK(page_has(page, "vnc_hooks_manager_sessions_total{listener=\"[::1]:5901\"} 1"));
  CHECK(page_has(page, "vnc_hooks_manager_auth_successes_total{listener=\"[::1]:5901\"} 0"));
  CHECK(page_has(page, "vnc_hooks_manager_auth_failures_total{listener=\"[::1]:5901\"} 0"));
  CHECK(page_has(page, "vnc_hooks_manager_events_total{event=\"connect\"} 4"));
  CHECK(page_has(page, "vnc_hooks_manager_events_total{event=\"disconnect\"} 3"));
  CHECK(page_has(page, "vnc_hooks_manager_disconnects_total{reason=\"client_closed\"} 3"));
  CHECK(page_has(page, "vnc_hooks_manager_handshakes_total{outcome=\"auth_failed\"} 1"));
  CHECK(page_has(page, "vnc_hooks_manager_handshakes_total{outcome=\"client_closed\"} 2"));
}

TEST_CASE("metrics sink: handshakes by outcome, disconnect reasons, durations and bytes") {
  vhm::metrics::Registry registry;
  RecordingSink next;
  vhm::hooks::MetricsEventSink sink(next, registry);
  // s1 logs in; s2 gives a wrong password; s3 closes during the handshake.
  for (const auto* id : {"s1", "s2", "s3"}) sink.publish(metrics_event(EventKind::connect, id));
  sink.publish(metrics_event(EventKind::auth_success, "s1"));
  sink.publish(metrics_event(EventKind::auth_failure, "s2", {{Field::reason, "authentication failed"}}));
  sink.publish(metrics_event(EventKind::disconnect, "s1",
                             {{Field::reason, "client_closed"}, {Field::duration, "75"}, {Field::bytes_in, "100"},
                              {Field::bytes_out, "5000"}}));
  sink.publish(metrics_event(EventKind::disconnect, "s2",
                             {{Field::reason, "server_closed"}, {Field::duration, "0"}, {Field::bytes_in, "50"},
                              {Field::bytes_out, "60"}}));
  sink.publish(metrics_event(EventKind::disconnect, "s3", {{Field::reason, "client_closed"}, {Field::duration, "2"}}));
  // A later session with a reused id starts clean.
  sink.publish(metrics_event(EventKind::disconnect, "s1", {{Field::reason, "protocol_error"}, {Field::duration, "x"}}));
  const auto page = registry.render();
  INFO(page);
  CHECK(page_has(page, "vnc_hooks_manager_sessions_total{listener=\"127.0.0.1:5900\"} 3"));
  CHECK(page_has(page, "vnc_hooks_manager_auth_successes_total{listener=\"127.0.0.1:5900\"} 1"));
  CHECK(page_has(page, "vnc_hooks_manager_auth_failures_total{listener=\"127.0.0.1:5900\"} 1"));
  CHECK(page_has(page, "vnc_hooks_manager_handshakes_total{outcome=\"authenticated\"} 1"));
  CHECK(page_has(page, "vnc_hooks_manager_handshakes_total{outcome=\"auth_failed\"} 1"));
  CHECK(page_has(page, "vnc_hooks_manager_handshakes_total{outcome=\"client_closed\"} 1"));
  CHECK(page_has(page, "vnc_hooks_manager_handshakes_total{outcome=\"protocol_error\"} 1"));
  CHECK(page_has(page, "vnc_hooks_manager_disconnects_total{reason=\"client_closed\"} 2"));
  CHECK(page_has(page, "vnc_hooks_manager_disconnects_total{reason=\"target_unreachable\"} 0"));
  CHECK(page_has(page, "vnc_hooks_manager_bytes_total{direction=\"viewer_to_server\"} 150"));
  CHECK(page_has(page, "vnc_hooks_manager_bytes_total{direction=\"server_to_viewer\"} 5060"));
  CHECK(page_has(page, "vnc_hooks_manager_session_duration_seconds_bucket{le=\"1\"} 2"));   // 0 and "x" (as 0)
  CHECK(page_has(page, "vnc_hooks_manager_session_duration_seconds_bucket{le=\"10\"} 3"));  // 2
  CHECK(page_has(page, "vnc_hooks_manager_session_duration_seconds_bucket{le=\"300\"} 4"));  // 75
  CHECK(page_has(page, "vnc_hooks_manager_session_duration_seconds_sum 77"));
  CHECK(page_has(page, "vnc_hooks_manager_session_duration_seconds_count 4"));
}

TEST_CASE("metrics sink: policy, recording and clipboard events") {
  vhm::metrics::Registry registry;
  RecordingSink next;
  vhm::hooks::MetricsEventSink sink(next, registry);
  sink.publish(metrics_event(EventKind::ban, "s1", {{Field::failures, "5"}}));
  sink.publish(metrics_event(EventKind::blocked, "", {{Field::reason, "banned"}}));
  sink.publish(metrics_event(EventKind::blocked, "", {{Field::reason, "banned"}}));
  sink.publish(metrics_event(EventKind::blocked, "", {{Field::reason, "per_ip_limit"}}));
  sink.publish(metrics_event(EventKind::recording_started, "s1"));
  sink.publish(metrics_event(EventKind::recording_finished, "s1", {{Field::recording_bytes, "4096"}}));
  sink.publish(metrics_event(EventKind::recording_started, "s2"));
  sink.publish(metrics_event(EventKind::recording_failed, "s2", {{Field::reason, "disk full"}}));
  sink.publish(metrics_event(EventKind::clipboard, "s1",
                             {{Field::direction, "viewer_to_server"}, {Field::clipboard_bytes, "42"}}));
  sink.publish(metrics_event(EventKind::resize, "s1"));
  CHECK(next.events.size() == 10);
  const auto page = registry.render();
  INFO(page);
  CHECK(page_has(page, "vnc_hooks_manager_bans_total 1"));
  CHECK(page_has(page, "vnc_hooks_manager_blocked_connections_total{reason=\"banned\"} 2"));
  CHECK(page_has(page, "vnc_hooks_manager_blocked_connections_total{reason=\"per_ip_limit\"} 1"));
  CHECK(page_has(page, "vnc_hooks_manager_recordings_started_total 2"));
  CHECK(page_has(page, "vnc_hooks_manager_recordings_finished_total 1"));
  CHECK(page_has(page, "vnc_hooks_manager_recordings_failed_total 1"));
  CHECK(page_has(page, "vnc_hooks_manager_recorded_bytes_total 4096"));
  CHECK(page_has(page, "vnc_hooks_manager_clipboard_transfers_total{direction=\"viewer_to_server\"} 1"));
  CHECK(page_has(page, "vnc_hooks_manager_clipboard_bytes_total{direction=\"viewer_to_server\"} 42"));
  CHECK(page_has(page, "vnc_hooks_manager_events_total{event=\"resize\"} 1"));
  CHECK(page_has(page, "vnc_hooks_manager_events_total{event=\"blocked\"} 3"));
}

TEST_CASE("hook metrics: attempts by action and result, durations, webhook statuses") {
  vhm::metrics::Registry registry;
  auto observe = vhm::hooks::hook_attempt_metrics(registry);
  vhm::conf::HookConfig command;
  command.action = vhm::conf::HookAction::command;
  vhm::conf::HookConfig webhook;
  webhook.action = vhm::conf::HookAction::webhook;
  vhm::hooks::HookResult ok;
  ok.ran = true;
  ok.exit_code = 0;
  vhm::hooks::HookResult failed = ok;
  failed.exit_code = 3;
  vhm::hooks::HookResult timed_out = ok;
  timed_out.timed_out = true;
  vhm::hooks::HookResult not_started;
  vhm::hooks::HookResult reply_500 = failed;
  reply_500.http_status = 500;
  vhm::hooks::HookResult reply_200 = ok;
  reply_200.http_status = 200;
  vhm::hooks::HookResult no_reply = failed;

  using std::chrono::duration;
  observe({command, ok, duration<double>(0.02)});
  observe({command, ok, duration<double>(0.2)});
  observe({command, failed, duration<double>(0.01)});
  observe({command, timed_out, duration<double>(30)});
  observe({command, not_started, duration<double>(0)});
  observe({command, failed, duration<double>(1), true});  // terminated
  observe({webhook, reply_200, duration<double>(0.05)});
  observe({webhook, reply_500, duration<double>(0.05)});
  observe({webhook, no_reply, duration<double>(10)});

  const auto page = registry.render();
  INFO(page);
  CHECK(page_has(page, "vnc_hooks_manager_hook_runs_total{action=\"command\",result=\"ok\"} 2"));
  CHECK(page_has(page, "vnc_hooks_manager_hook_runs_total{action=\"command\",result=\"failed\"} 1"));
  CHECK(page_has(page, "vnc_hooks_manager_hook_runs_total{action=\"command\",result=\"timed_out\"} 1"));
  CHECK(page_has(page, "vnc_hooks_manager_hook_runs_total{action=\"command\",result=\"not_started\"} 1"));
  CHECK(page_has(page, "vnc_hooks_manager_hook_runs_total{action=\"command\",result=\"terminated\"} 1"));
  CHECK(page_has(page, "vnc_hooks_manager_hook_runs_total{action=\"webhook\",result=\"ok\"} 1"));
  CHECK(page_has(page, "vnc_hooks_manager_hook_runs_total{action=\"webhook\",result=\"failed\"} 2"));
  CHECK(page_has(page, "vnc_hooks_manager_hook_duration_seconds_bucket{action=\"command\",le=\"0.025\"} 3"));
  CHECK(page_has(page, "vnc_hooks_manager_hook_duration_seconds_count{action=\"command\"} 6"));
  CHECK(page_has(page, "vnc_hooks_manager_hook_duration_seconds_count{action=\"webhook\"} 3"));
  CHECK(page_has(page, "vnc_hooks_manager_webhook_deliveries_total{status=\"200\"} 1"));
  CHECK(page_has(page, "vnc_hooks_manager_webhook_deliveries_total{status=\"500\"} 1"));
  CHECK(page_has(page, "vnc_hooks_manager_webhook_deliveries_total{status=\"error\"} 1"));
}

TEST_CASE("hook metrics: the dispatcher's stats as gauges and counters") {
  vhm::metrics::Registry registry;
  vhm::hooks::DispatcherStats stats;
  stats.queued = 4;
  stats.running = 2;
  stats.webhooks_in_flight = 1;
  stats.events_published = 10;
  stats.events_dropped = 3;
  vhm::metrics::ScopedCollector collector(registry, vhm::hooks::dispatcher_stats_collector([&stats] { return stats; }));
  auto page = registry.render();
  CHECK(page_has(page, "vnc_hooks_manager_hook_queue_depth 4"));
  CHECK(page_has(page, "vnc_hooks_manager_hooks_running 2"));
  CHECK(page_has(page, "vnc_hooks_manager_webhooks_in_flight 1"));
  CHECK(page_has(page, "vnc_hooks_manager_hook_events_published_total 10"));
  CHECK(page_has(page, "# TYPE vnc_hooks_manager_hook_events_dropped_total counter"));
  CHECK(page_has(page, "vnc_hooks_manager_hook_events_dropped_total 3"));
  stats.events_dropped = 5;
  CHECK(page_has(registry.render(), "vnc_hooks_manager_hook_events_dropped_total 5"));
}

TEST_CASE("hook metrics: a real dispatcher reports its attempts to the observer") {
  vhm::metrics::Registry registry;
  auto config = std::make_shared<vhm::conf::Config>();
  vhm::conf::HookConfig hook;
  hook.name = "true";
  hook.event = EventKind::connect;
  hook.argv = {"/bin/true"};
  config->events[EventKind::connect].push_back(hook);
  vhm::hooks::HookDispatcher dispatcher(config);
  dispatcher.set_attempt_observer(vhm::hooks::hook_attempt_metrics(registry));
  std::promise<void> finished;
  dispatcher.publish(metrics_event(EventKind::connect, "s1"),
                     [&finished](const vhm::hooks::EventOutcome&) { finished.set_value(); });
  REQUIRE(finished.get_future().wait_for(std::chrono::seconds(10)) == std::future_status::ready);
  dispatcher.shutdown();
  CHECK(page_has(registry.render(), "vnc_hooks_manager_hook_runs_total{action=\"command\",result=\"ok\"} 1"));
}

TEST_CASE("metrics sink: sessions from several threads are each counted once") {
  vhm::metrics::Registry registry;
  struct NullSink final : vhm::hooks::EventSink {
    void publish(vhm::hooks::Event, vhm::hooks::EventCompletion) override {}
  } next;
  vhm::hooks::MetricsEventSink sink(next, registry);
  constexpr int threads = 4;
  constexpr int sessions = 500;
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&sink, t] {
      for (int i = 0; i < sessions; ++i) {
        const auto id = std::to_string(t) + "-" + std::to_string(i);
        sink.publish(metrics_event(EventKind::connect, id));
        sink.publish(metrics_event(i % 2 ? EventKind::auth_success : EventKind::auth_failure, id));
        sink.publish(metrics_event(EventKind::disconnect, id, {{Field::reason, "client_closed"}, {Field::bytes_in, "1"}}));
      }
    });
  }
  for (auto& worker : workers) worker.join();
  const auto page = registry.render();
  CHECK(page_has(page, "vnc_hooks_manager_sessions_total{listener=\"127.0.0.1:5900\"} 2000"));
  CHECK(page_has(page, "vnc_hooks_manager_handshakes_total{outcome=\"authenticated\"} 1000"));
  CHECK(page_has(page, "vnc_hooks_manager_handshakes_total{outcome=\"auth_failed\"} 1000"));
  CHECK(page_has(page, "vnc_hooks_manager_bytes_total{direction=\"viewer_to_server\"} 2000"));
}
