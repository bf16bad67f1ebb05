// The rendered page through Prometheus' own linter (`promtool check metrics`,
// Debian package prometheus): what the unit tests compare by text, promtool
// checks as Prometheus reads it (escaping, number syntax, histogram shape,
// naming conventions).
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <limits>

#include "metrics/process_metrics.hpp"
#include "metrics/registry.hpp"

namespace {

// promtool's exit status for `text` on its stdin (0: valid and lint-clean).
int promtool_check(const std::string& text, bool quiet = false) {
  char path[] = "/tmp/vhm_metrics_XXXXXX";
  const int fd = ::mkstemp(path);
  REQUIRE(fd >= 0);
  ::close(fd);
  std::ofstream(path) << text;
  const std::string command = std::string("promtool check metrics < ") + path + (quiet ? " 2>/dev/null" : "");
  const int status = std::system(command.c_str());
  ::unlink(path);
  REQUIRE(status != -1);
  REQUIRE(WIFEXITED(status));
  return WEXITSTATUS(status);
}

}  // namespace

TEST_CASE("promtool: a page with every kind of sample passes `promtool check metrics`") {
  REQUIRE(std::system("command -v promtool > /dev/null") == 0);  // CI installs Debian's prometheus
  vhm::metrics::Registry registry;
  registry.counter("vnc_hooks_manager_sessions_total", "Sessions accepted.", {{"listener", "0.0.0.0:5900"}}).inc(3);
  registry.counter("vnc_hooks_manager_sessions_total", "Sessions accepted.", {{"listener", "[::1]:5901"}}).inc();
  registry.counter("vnc_hooks_manager_odd_labels_total", "Quotes \" and\nnew lines \\ in help.",
                   {{"value", "a\"b\\c\nd"}, {"empty", ""}, {"utf8", "bureau \xc3\xa9t\xc3\xa9"}})
      .inc();
  registry.gauge("vnc_hooks_manager_sessions_active", "Sessions now.").set(0.25);
  registry.gauge("vnc_hooks_manager_infinite", "Infinity is a valid value.").set(std::numeric_limits<double>::infinity());
  auto& durations = registry.histogram("vnc_hooks_manager_session_duration_seconds", "Session lengths.",
                                       vhm::metrics::session_duration_buckets());
  durations.observe(0.2);
  durations.observe(4000);
  auto& hooks = registry.histogram("vnc_hooks_manager_hook_duration_seconds", "Hook runs.",
                                   vhm::metrics::hook_duration_buckets(), {{"action", "command"}});
  hooks.observe(0.003);
  hooks.observe(1e9);
  registry.add_collector([](vhm::metrics::SampleWriter& out) {
    out.counter("vnc_hooks_manager_sessions_total", "Sessions accepted.", {{"listener", "0.0.0.0:5900"}}, 1);
    out.counter("vnc_hooks_manager_bytes_total", "Bytes.", {{"direction", "viewer_to_server"}}, 1.8446744073709552e19);
    out.gauge("vnc_hooks_manager_hook_queue_depth", "Queued.", {}, 0);
  });
  vhm::metrics::add_process_collector(registry);
  vhm::metrics::set_build_info(registry, "0.1.0");
  const auto page = registry.render();
  INFO(page);
  CHECK(promtool_check(page) == 0);
}

TEST_CASE("promtool: the check fails on a broken page (so the test above can fail)") {
  REQUIRE(std::system("command -v promtool > /dev/null") == 0);
  CHECK(promtool_check("# TYPE x_total counter\nx_total{a=\"unterminated} 1\n", true) != 0);
  CHECK(promtool_check("# HELP x A counter without _total.\n# TYPE x counter\nx 1\n", true) != 0);
}
