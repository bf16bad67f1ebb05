#pragma once
// YAML::LoadAll without its endless loop. yaml-cpp 0.7 (Debian 12) answers a
// token that cannot start a value (a lone "," at the top, say) with an empty
// document that consumes nothing, so LoadAll returns never, adding a null
// document per turn until memory runs out (jbeder/yaml-cpp#1040, fixed
// upstream after 0.8.0 by #1319). `--check-config` on a file with a stray
// comma hung; found by fuzz/config.cpp.
#include <yaml-cpp/yaml.h>

#include <string_view>
#include <vector>

namespace vhm::conf {

// Every document of `yaml`, as YAML::LoadAll returns them; throws
// YAML::ParserException where the parser stops making progress, and whatever
// LoadAll throws for other syntax errors.
std::vector<YAML::Node> load_all_documents(std::string_view yaml);

}  // namespace vhm::conf
