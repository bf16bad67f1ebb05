#pragma once
// Which capabilities the proxy still needs once it runs as global `user:`,
// derived from the config alone so it can be unit-tested and logged. Anything
// not listed here is dropped, including from the bounding set.
#include <sys/capability.h>

#include <string>
#include <vector>

#include "conf/config.hpp"

namespace vhm::service {

struct NeededCapability {
  cap_value_t capability;
  std::string reason;  // the config that needs it, for the log
};

// Sorted by capability number, each at most once (the first reason wins):
//  - CAP_NET_ADMIN: a listener has `transparent: tproxy` (IP_TRANSPARENT on the
//    listener and on each upstream socket bound to the client's address);
//  - CAP_NET_BIND_SERVICE: a listener port below 1024 (a reload may re-bind it);
//  - CAP_SETUID, CAP_SETGID, CAP_KILL: a command hook has `run_as` (the child
//    switches users; timing out hooks of other users needs kill()).
std::vector<NeededCapability> needed_capabilities(const conf::Config& config);

// "cap_net_admin", as libcap and /proc name them.
std::string capability_name(cap_value_t capability);
// "cap_kill, cap_setgid" or "no capabilities".
std::string capability_list(const std::vector<NeededCapability>& capabilities);

}  // namespace vhm::service
