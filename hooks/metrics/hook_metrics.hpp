#pragma once
// The hook dispatcher's side of the metrics (docs/metrics.md): every attempt
// of every handler (runs by result, durations, webhook replies by status)
// through HookDispatcher::set_attempt_observer, and the dispatcher's queue
// and counters (DispatcherStats) through a registry collector.
#include <functional>

#include "hooks/dispatcher.hpp"
#include "metrics/registry.hpp"

namespace vhm::hooks {

// "ok", "failed", "timed_out", "not_started" or "terminated".
std::string_view attempt_result(const AttemptReport& report);

// For set_attempt_observer: quick (atomic increments; a registry lookup only
// for a label set not seen before), runs under the dispatcher's lock.
AttemptObserver hook_attempt_metrics(metrics::Registry& registry);

// Samples of DispatcherStats; `stats` is read at render time (keep the
// returned collector no longer than the dispatcher lives).
metrics::Registry::Collector dispatcher_stats_collector(std::function<DispatcherStats()> stats);

}  // namespace vhm::hooks
