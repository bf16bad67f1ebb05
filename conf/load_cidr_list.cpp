#include "conf/config_sections.hpp"

namespace vhm::conf {

std::vector<Cidr> load_cidr_list(const Entry& entry, ProblemList& problems) {
  std::vector<Cidr> blocks;
  for (const Entry& item : read_list(entry, problems, "addresses or address blocks")) {
    const auto text = read_nonempty_string(item, problems);
    if (!text) continue;
    std::string error;
    if (auto cidr = parse_cidr(*text, error))
      blocks.push_back(*cidr);
    else
      problems.add(item.line, item.key, error);
  }
  return blocks;
}

}  // namespace vhm::conf
