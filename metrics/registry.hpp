#pragma once
// Prometheus metrics (docs/metrics.md): counters, gauges and histograms
// with labels, rendered in the text exposition format 0.0.4 for the admin
// listener's GET /metrics.
//
// Two kinds of sources:
//  - instruments (counter()/gauge()/histogram()): updated where things
//    happen, from any thread; lookups take a lock, updates are atomic, so
//    hot paths keep the returned reference (it lives as long as the registry);
//  - collectors: called at render() time, on the renderer's thread, for
//    values read from state the proxy already keeps (sessions active now,
//    hook queue depth, live byte counts).
// Names follow the Prometheus conventions: vnc_hooks_manager_<what>_<unit>
// with _total for counters, _seconds and _bytes units.
#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace vhm::metrics {

// Label name -> value, in the order given (names: [a-zA-Z_][a-zA-Z0-9_]*;
// values are escaped at render).
using Labels = std::vector<std::pair<std::string, std::string>>;

class Counter {
 public:
  void inc(std::uint64_t n = 1) { value_.fetch_add(n, std::memory_order_relaxed); }
  std::uint64_t value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::uint64_t> value_{0};
};

class Gauge {
 public:
  void set(double value) { value_.store(value, std::memory_order_relaxed); }
  void add(double delta);
  double value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

class Histogram {
 public:
  explicit Histogram(std::vector<double> upper_bounds);  // ascending; +Inf is implicit
  void observe(double value);
  struct Snapshot {
    std::vector<double> upper_bounds;
    std::vector<std::uint64_t> cumulative;  // one per bound, then +Inf
    double sum = 0;
    std::uint64_t count = 0;
  };
  Snapshot snapshot() const;

 private:
  std::vector<double> bounds_;
  std::unique_ptr<std::atomic<std::uint64_t>[]> buckets_;  // per bound, then +Inf (not cumulative)
  std::atomic<double> sum_{0};
  std::atomic<std::uint64_t> count_{0};
};

// What a collector writes. Samples join the family of their name; values of
// the same name and labels add up, whoever wrote them (an instrument counting
// finished sessions plus a collector reading the live ones). The first writer
// of a name fixes its type and help; a sample of another type is left out.
class SampleWriter {
 public:
  virtual ~SampleWriter() = default;
  virtual void counter(std::string_view name, std::string_view help, const Labels& labels, double value) = 0;
  virtual void gauge(std::string_view name, std::string_view help, const Labels& labels, double value) = 0;
};

class Registry {
 public:
  Registry();
  ~Registry();
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  // The same name and labels give the same instrument. A name's type, help
  // and (for histograms) buckets are fixed by its first use.
  Counter& counter(std::string_view name, std::string_view help, const Labels& labels = {});
  Gauge& gauge(std::string_view name, std::string_view help, const Labels& labels = {});
  Histogram& histogram(std::string_view name, std::string_view help, const std::vector<double>& upper_bounds,
                       const Labels& labels = {});

  using Collector = std::function<void(SampleWriter&)>;
  // Returns an id for remove_collector (a collector must not outlive what it reads).
  int add_collector(Collector collector);
  void remove_collector(int id);

  // Every family, sorted by name, with # HELP and # TYPE lines.
  std::string render() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Owns one collector of a registry: removes it when it goes away. Declare it
// after what the collector reads (members die in reverse order).
class ScopedCollector {
 public:
  ScopedCollector() = default;
  ScopedCollector(Registry& registry, Registry::Collector collector);
  ~ScopedCollector() { reset(); }
  ScopedCollector(ScopedCollector&& other) noexcept;
  ScopedCollector& operator=(ScopedCollector&& other) noexcept;
  void reset();

 private:
  Registry* registry_ = nullptr;
  int id_ = 0;
};

// The process's registry: what /metrics shows.
Registry& global_registry();

// Buckets for durations: session lengths (1 s .. 1 day) and hook runs (5 ms .. 60 s).
const std::vector<double>& session_duration_buckets();
const std::vector<double>& hook_duration_buckets();

}  // namespace vhm::metrics
