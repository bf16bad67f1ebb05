#include "metrics/registry.hpp"

#include <thread>

namespace {

using vhm::metrics::Labels;
using vhm::metrics::Registry;

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

}  // namespace

TEST_CASE("registry: counters and gauges render with HELP, TYPE and labels") {
  Registry registry;
  registry.counter("vhm_test_sessions_total", "Sessions accepted.", {{"listener", "0.0.0.0:5900"}}).inc(3);
  registry.gauge("vhm_test_temperature", "A gauge.").set(-1.5);
  CHECK(registry.render() ==
        "# HELP vhm_test_sessions_total Sessions accepted.\n"
        "# TYPE vhm_test_sessions_total counter\n"
        "vhm_test_sessions_total{listener=\"0.0.0.0:5900\"} 3\n"
        "# HELP vhm_test_temperature A gauge.\n"
        "# TYPE vhm_test_temperature gauge\n"
        "vhm_test_temperature -1.5\n");
}

TEST_CASE("registry: families are sorted by name, samples by labels") {
  Registry registry;
  registry.counter("b_total", "b", {{"k", "z"}}).inc();
  registry.counter("b_total", "b", {{"k", "a"}}).inc(2);
  registry.gauge("a", "a").set(1);
  const auto page = registry.render();
  CHECK(page.find("# HELP a ") < page.find("# HELP b_total "));
  CHECK(page.find("b_total{k=\"a\"} 2") < page.find("b_total{k=\"z\"} 1"));
}

TEST_CASE("registry: label values and help are escaped") {
  Registry registry;
  registry.counter("esc_total", "back\\slash\nnew line", {{"v", "a\"b\\c\nd"}}).inc();
  const auto page = registry.render();
  CHECK(contains(page, "# HELP esc_total back\\\\slash\\nnew line\n"));
  CHECK(contains(page, "esc_total{v=\"a\\\"b\\\\c\\nd\"} 1\n"));
}

TEST_CASE("registry: the same name and labels give the same instrument") {
  Registry registry;
  auto& first = registry.counter("same_total", "s", {{"a", "1"}});
  auto& again = registry.counter("same_total", "s", {{"a", "1"}});
  auto& other = registry.counter("same_total", "s", {{"a", "2"}});
  CHECK(&first == &again);
  CHECK(&first != &other);
  CHECK(&registry.histogram("h_seconds", "h", {1, 2}) == &registry.histogram("h_seconds", "h", {1, 2}));
}

TEST_CASE("registry: a name keeps its type; bad names are refused") {
  Registry registry;
  registry.counter("typed_total", "t");
  CHECK_THROWS_AS(registry.gauge("typed_total", "t"), std::logic_error);
  CHECK_THROWS_AS(registry.counter("bad-name", "x"), std::invalid_argument);
  CHECK_THROWS_AS(registry.counter("ok_total", "x", {{"1abc", "v"}}), std::invalid_argument);
  CHECK_THROWS_AS(registry.histogram("h", "x", {1}, {{"le", "1"}}), std::invalid_argument);
  CHECK_THROWS_AS(registry.histogram("h2", "x", {2, 1}), std::invalid_argument);
}

TEST_CASE("registry: histograms render cumulative buckets, +Inf, sum and count") {
  Registry registry;
  auto& histogram = registry.histogram("dur_seconds", "Durations.", {0.5, 1, 10}, {{"action", "x"}});
  histogram.observe(0.5);   // le=0.5 (a bound holds values equal to it)
  histogram.observe(0.75);  // le=1
  histogram.observe(3);     // le=10
  histogram.observe(100);   // +Inf only
  CHECK(registry.render() ==
        "# HELP dur_seconds Durations.\n"
        "# TYPE dur_seconds histogram\n"
        "dur_seconds_bucket{action=\"x\",le=\"0.5\"} 1\n"
        "dur_seconds_bucket{action=\"x\",le=\"1\"} 2\n"
        "dur_seconds_bucket{action=\"x\",le=\"10\"} 3\n"
        "dur_seconds_bucket{action=\"x\",le=\"+Inf\"} 4\n"
        "dur_seconds_sum{action=\"x\"} 104.25\n"
        "dur_seconds_count{action=\"x\"} 4\n");
}

TEST_CASE("registry: a histogram without labels; NaN observations are ignored") {
  Registry registry;
  auto& histogram = registry.histogram("plain_seconds", "p", {1});
  histogram.observe(std::nan(""));
  histogram.observe(2);
  const auto snap = histogram.snapshot();
  CHECK(snap.count == 1);
  CHECK(snap.cumulative == std::vector<std::uint64_t>{0, 1});
  CHECK(contains(registry.render(), "plain_seconds_bucket{le=\"+Inf\"} 1\nplain_seconds_sum 2\nplain_seconds_count 1\n"));
}

TEST_CASE("registry: increments from many threads are all counted") {
  Registry registry;
  constexpr int threads = 8;
  constexpr int per_thread = 20000;
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&registry, t] {
      // Half look the instrument up every time (the lookup takes a lock), half keep it.
      auto& kept = registry.counter("conc_total", "c");
      auto& histogram = registry.histogram("conc_seconds", "c", {1});
      auto& gauge = registry.gauge("conc_gauge", "c");
      for (int i = 0; i < per_thread; ++i) {
        if (t % 2 == 0) kept.inc();
        else registry.counter("conc_total", "c").inc();
        histogram.observe(0.5);
        gauge.add(1);
        if (i % 1000 == 0) (void)registry.render();
      }
    });
  }
  for (auto& worker : workers) worker.join();
  CHECK(registry.counter("conc_total", "c").value() == threads * per_thread);
  CHECK(registry.histogram("conc_seconds", "c", {1}).snapshot().count == threads * per_thread);
  CHECK(registry.histogram("conc_seconds", "c", {1}).snapshot().sum == threads * per_thread * 0.5);
  CHECK(registry.gauge("conc_gauge", "c").value() == threads * per_thread);
}

TEST_CASE("registry: collectors join families by name and can be removed") {
  Registry registry;
  registry.counter("bytes_total", "Bytes.", {{"direction", "in"}}).inc(100);  // finished sessions
  int live = 5;
  const int id = registry.add_collector([&live](vhm::metrics::SampleWriter& out) {
    out.counter("bytes_total", "Bytes.", {{"direction", "in"}}, live);  // live sessions add up
    out.counter("bytes_total", "Bytes.", {{"direction", "out"}}, 7);
    out.gauge("active", "Active.", {}, 2);
    out.gauge("bytes_total", "wrong type", {{"direction", "x"}}, 1);  // left out
    out.gauge("bad name", "invalid", {}, 1);                          // left out
  });
  const auto page = registry.render();
  CHECK(contains(page,
                 "# HELP bytes_total Bytes.\n# TYPE bytes_total counter\n"
                 "bytes_total{direction=\"in\"} 105\nbytes_total{direction=\"out\"} 7\n"));
  CHECK(contains(page, "# TYPE active gauge\nactive 2\n"));
  CHECK_FALSE(contains(page, "direction=\"x\""));
  CHECK_FALSE(contains(page, "bad name"));
  CHECK(page.find("# HELP active") < page.find("# HELP bytes_total"));

  registry.remove_collector(id);
  const auto after = registry.render();
  CHECK(contains(after, "bytes_total{direction=\"in\"} 100\n"));
  CHECK_FALSE(contains(after, "active"));
  CHECK_FALSE(contains(after, "direction=\"out\""));
}

TEST_CASE("registry: a collector may create instruments while the page renders") {
  Registry registry;
  registry.add_collector([&registry](vhm::metrics::SampleWriter&) { registry.counter("made_total", "m").inc(); });
  (void)registry.render();
  CHECK(registry.counter("made_total", "m").value() == 1);
}

TEST_CASE("registry: the global registry is one object; bucket lists ascend") {
  CHECK(&vhm::metrics::global_registry() == &vhm::metrics::global_registry());
  for (const auto* buckets : {&vhm::metrics::session_duration_buckets(), &vhm::metrics::hook_duration_buckets()}) {
    CHECK(std::is_sorted(buckets->begin(), buckets->end()));
    CHECK_FALSE(buckets->empty());
  }
}

TEST_CASE("registry: a ScopedCollector removes its collector when it goes away or moves on") {
  Registry registry;
  auto collector = [](vhm::metrics::SampleWriter& out) { out.gauge("scoped", "s", {}, 1); };
  {
    vhm::metrics::ScopedCollector scoped(registry, collector);
    CHECK(contains(registry.render(), "scoped 1\n"));
    vhm::metrics::ScopedCollector moved(std::move(scoped));
    CHECK(contains(registry.render(), "scoped 1\n"));  // moved, not removed, and not twice
    CHECK_FALSE(contains(registry.render(), "scoped 2"));
    vhm::metrics::ScopedCollector assigned;
    assigned = std::move(moved);
    CHECK(contains(registry.render(), "scoped 1\n"));
  }
  CHECK(registry.render().empty());
}
