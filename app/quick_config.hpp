#pragma once
// Quick mode: a Config built from --listen/--target pairs, no hooks. The same
// pairs given with --config are added to the file's listeners instead
// (conf::LoadOptions::extra_listeners), with the same defaults.
#include <string>
#include <vector>

#include "conf/config_loader.hpp"

namespace vhm::app {

conf::LoadResult quick_config(const std::vector<std::string>& listen, const std::vector<std::string>& target);

// The pairs as the loader takes them.
std::vector<conf::ListenerArgument> listener_arguments(const std::vector<std::string>& listen,
                                                       const std::vector<std::string>& target);

}  // namespace vhm::app
