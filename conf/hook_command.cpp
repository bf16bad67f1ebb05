#include <set>

#include "conf/command_split.hpp"
#include "conf/config_sections.hpp"
#include "conf/event_schema.hpp"
#include "conf/executable_lookup.hpp"
#include "conf/placeholders.hpp"

namespace vhm::conf {
namespace {

std::string known_fields() {
  std::string names;
  for (auto name : field_names) names += (names.empty() ? "" : ", ") + std::string(name);
  return names;
}

}  // namespace

std::optional<std::vector<std::string>> load_hook_command(const Entry& cmd, const std::filesystem::path& hooks_dir,
                                                          ProblemList& problems) {
  const auto text = read_string(cmd, problems);
  if (!text) return std::nullopt;
  std::string error;
  auto argv = split_command(*text, error);
  if (!argv) {
    problems.add(cmd.line, cmd.key, error);
    return std::nullopt;
  }
  bool ok = true;
  // The executable is fixed at load: a placeholder there would let an event
  // value choose the program.
  if (!find_placeholders(argv->front()).empty()) {
    problems.add(cmd.line, cmd.key,
                 "the program " + quote_value(argv->front()) +
                     " cannot contain {placeholders}; use them in the arguments");
    ok = false;
  } else if (auto program = resolve_executable(argv->front(), hooks_dir, current_search_path(), error)) {
    argv->front() = program->string();
  } else {
    problems.add(cmd.line, cmd.key, error);
    ok = false;
  }
  std::set<std::string> reported;
  for (std::size_t i = 1; i < argv->size(); ++i) {
    for (const auto& ref : find_placeholders((*argv)[i])) {
      if (parse_field(ref.name) || !reported.insert(ref.name).second) continue;
      problems.add(cmd.line, cmd.key, "unknown placeholder {" + ref.name + "} (known: " + known_fields() + ")");
      ok = false;
    }
  }
  if (!ok) return std::nullopt;
  return argv;
}

}  // namespace vhm::conf
