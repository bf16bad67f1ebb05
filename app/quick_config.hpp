#pragma once
// Quick mode: a Config built from --listen/--target pairs, no hooks.
#include <string>
#include <vector>

#include "conf/config_loader.hpp"

namespace vhm::app {

conf::LoadResult quick_config(const std::vector<std::string>& listen, const std::vector<std::string>& target);

}  // namespace vhm::app
