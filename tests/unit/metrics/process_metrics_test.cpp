#include "metrics/process_metrics.hpp"

#include <chrono>

namespace {

// The value of an unlabelled sample on the page, or -1.
double sample_value(const std::string& page, const std::string& name) {
  const auto at = page.find('\n' + name + ' ');
  if (at == std::string::npos) return -1;
  return std::stod(page.substr(at + name.size() + 2));
}

}  // namespace

TEST_CASE("process metrics: start time, CPU, memory and descriptors of this process") {
  vhm::metrics::Registry registry;
  vhm::metrics::add_process_collector(registry);
  const auto page = registry.render();
  INFO(page);
  const double now = std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  const double start = sample_value(page, "process_start_time_seconds");
  CHECK(start > now - 3600);  // this test process started moments ago
  CHECK(start <= now + 1);
  CHECK(sample_value(page, "process_cpu_seconds_total") >= 0);
  CHECK(sample_value(page, "process_resident_memory_bytes") > 1e6);
  CHECK(sample_value(page, "process_open_fds") >= 3);
  CHECK(page.find("# TYPE process_cpu_seconds_total counter\n") != std::string::npos);
}

TEST_CASE("process metrics: build info") {
  vhm::metrics::Registry registry;
  vhm::metrics::set_build_info(registry, "1.2.3");
  CHECK(registry.render().find("vnc_hooks_manager_build_info{version=\"1.2.3\"} 1\n") != std::string::npos);
}
