#include "metrics/process_metrics.hpp"

#include <sys/resource.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

namespace vhm::metrics {
namespace {

struct ProcStat {
  double cpu_seconds = 0;
  double start_seconds_after_boot = 0;
  bool ok = false;
};

// /proc/self/stat: fields 14 (utime) and 15 (stime) and 22 (starttime), in clock ticks.
ProcStat read_proc_stat() {
  ProcStat stat;
  std::ifstream file("/proc/self/stat");
  std::string line;
  if (!std::getline(file, line)) return stat;
  const auto after_name = line.rfind(')');  // the command name may hold spaces
  if (after_name == std::string::npos) return stat;
  std::istringstream rest(line.substr(after_name + 2));
  std::string field;
  const double ticks = static_cast<double>(::sysconf(_SC_CLK_TCK));
  // rest starts at field 3 (state).
  for (int index = 3; rest >> field; ++index) {
    if (index == 14 || index == 15) stat.cpu_seconds += std::stod(field) / ticks;
    if (index == 22) {
      stat.start_seconds_after_boot = std::stod(field) / ticks;
      stat.ok = true;
      break;
    }
  }
  return stat;
}

double boot_time_seconds() {
  std::ifstream file("/proc/stat");
  std::string key;
  double value = 0;
  while (file >> key) {
    if (key == "btime" && file >> value) return value;
    file.ignore(1 << 20, '\n');
  }
  return 0;
}

double resident_bytes() {
  std::ifstream file("/proc/self/statm");
  double size = 0;
  double resident = 0;
  if (!(file >> size >> resident)) return 0;
  return resident * static_cast<double>(::sysconf(_SC_PAGESIZE));
}

double open_fds() {
  std::error_code error;
  double count = 0;
  for (std::filesystem::directory_iterator it("/proc/self/fd", error), end; !error && it != end; it.increment(error)) {
    ++count;
  }
  return count;
}

}  // namespace

void add_process_collector(Registry& registry) {
  // The start time cannot change: read once.
  const double start_time = boot_time_seconds() + read_proc_stat().start_seconds_after_boot;
  registry.add_collector([start_time](SampleWriter& out) {
    out.gauge("process_start_time_seconds", "Start time of the process since unix epoch in seconds.", {}, start_time);
    const auto stat = read_proc_stat();
    if (stat.ok) out.counter("process_cpu_seconds_total", "Total user and system CPU time spent in seconds.", {}, stat.cpu_seconds);
    out.gauge("process_resident_memory_bytes", "Resident memory size in bytes.", {}, resident_bytes());
    out.gauge("process_open_fds", "Number of open file descriptors.", {}, open_fds());
    rlimit limit{};
    if (::getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur != RLIM_INFINITY) {
      out.gauge("process_max_fds", "Maximum number of open file descriptors.", {}, static_cast<double>(limit.rlim_cur));
    }
  });
}

void set_build_info(Registry& registry, std::string_view version) {
  registry.gauge("vnc_hooks_manager_build_info", "The running version of vnc-hooks-manager; always 1.",
                 {{"version", std::string(version)}})
      .set(1);
}

}  // namespace vhm::metrics
