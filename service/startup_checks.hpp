#pragma once
// What the proxy will write later, checked once at startup with the identity
// it runs as from then on (call after drop_privileges): the ban state file,
// `action: log` files and the control socket's directory. A problem there is
// a warning, not an error: the proxy still relays and runs hooks, but the
// operator should hear about it now rather than at the first ban.
#include <string>
#include <vector>

#include "conf/config.hpp"

namespace vhm::service {

// One line per problem, ready to log; empty when all is well.
std::vector<std::string> startup_warnings(const conf::Config& config);

}  // namespace vhm::service
