#pragma once
// The standard process_* metrics every Prometheus client library exports
// (start time, CPU, memory, descriptors; read from /proc at render time), and
// the build info gauge, so dashboards and `up` alerts work as with any exporter.
#include <string_view>

#include "metrics/registry.hpp"

namespace vhm::metrics {

// Adds a collector for the life of the registry (the process's own state never goes away).
void add_process_collector(Registry& registry);
// vnc_hooks_manager_build_info{version="..."} 1
void set_build_info(Registry& registry, std::string_view version);

}  // namespace vhm::metrics
