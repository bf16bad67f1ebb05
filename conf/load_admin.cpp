// `admin:` (docs/events-out.md). Placeholder stub: the admin feature fills this in.
#include "conf/config_sections.hpp"

namespace vhm::conf {

AdminConfig load_admin(const std::optional<Entry>& section, const std::filesystem::path& base_dir,
                       ProblemList& problems) {
  (void)base_dir;
  AdminConfig admin;
  if (section) problems.add(section->line, "admin", "admin: is not implemented yet");
  return admin;
}

}  // namespace vhm::conf
