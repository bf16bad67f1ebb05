#pragma once
// Counts every event on its way out (docs/metrics.md): an EventSink that
// updates the metrics registry, then hands the event and its completion on
// unchanged. main puts it between the proxy and the real sink (the hook
// dispatcher, or quick mode's stdout), so every event is counted once,
// whatever handles it. Thread-safe: events come from the io thread and from
// policy and recording callbacks.
#include <array>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "hooks/event_sink.hpp"
#include "metrics/registry.hpp"

namespace vhm::hooks {

class MetricsEventSink final : public EventSink {
 public:
  MetricsEventSink(EventSink& next, metrics::Registry& registry);
  void publish(Event event, EventCompletion done = {}) override;

  // Creates the listener's series at 0 (sessions, auth results), so rate()
  // and increase() see its first session or failure.
  void add_listener(const std::string& listen);

 private:
  // What a session showed before its disconnect (the handshake's outcome).
  struct SessionSeen {
    bool auth_success = false;
    bool auth_failure = false;
  };
  void count(const Event& event);
  void count_disconnect(const Event& event);
  metrics::Counter& counter(std::string_view name, const metrics::Labels& labels = {});  // name without the prefix
  // A counter with one label, found again without formatting its series
  // (every session's events come through here). `name` is a literal; sets
  // `*created` when this made the series.
  metrics::Counter& labelled(std::string_view name, std::string_view label, std::string_view value,
                             bool* created = nullptr);

  EventSink& next_;
  metrics::Registry& registry_;
  std::mutex sessions_mutex_;
  std::unordered_map<std::string, SessionSeen> sessions_;  // by session_id, erased at disconnect
  metrics::Histogram& session_duration_;
  // Series every event or every disconnect counts in, found once here.
  std::array<metrics::Counter*, conf::event_kind_names.size()> events_total_{};
  metrics::Counter* bytes_in_total_ = nullptr;
  metrics::Counter* bytes_out_total_ = nullptr;
  std::mutex cache_mutex_;
  std::map<std::string_view, std::map<std::string, metrics::Counter*, std::less<>>, std::less<>> cache_;
};

}  // namespace vhm::hooks
