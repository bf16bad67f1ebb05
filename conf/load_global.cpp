#include "conf/config_sections.hpp"

#include <array>
#include <string_view>

namespace vhm::conf {
namespace {

// Large enough for any real deployment, small enough that no arithmetic on
// these limits can overflow.
constexpr std::int64_t max_limit = 1'000'000'000;

constexpr std::array<std::string_view, 7> log_levels = {"trace", "debug", "info", "warn",
                                                        "error", "critical", "off"};

}  // namespace

std::filesystem::path resolve_config_path(const std::string& text, const std::filesystem::path& base_dir) {
  const std::filesystem::path path(text);
  return (path.is_absolute() ? path : base_dir / path).lexically_normal();
}

GlobalConfig load_global(const std::optional<Entry>& section, const std::filesystem::path& base_dir,
                         ProblemList& problems) {
  GlobalConfig global;
  global.hooks_dir = base_dir;
  if (!section) return global;
  MapReader map(*section, problems);
  if (!map.ok()) return global;

  if (auto entry = map.take("hooks_dir"))
    if (auto text = read_nonempty_string(*entry, problems)) global.hooks_dir = resolve_config_path(*text, base_dir);
  if (auto entry = map.take("log_file"))
    if (auto text = read_nonempty_string(*entry, problems)) global.log_file = resolve_config_path(*text, base_dir);
  if (auto entry = map.take("log_level")) {
    if (auto text = read_string(*entry, problems)) {
      bool known = false;
      std::string names;
      for (auto level : log_levels) {
        known = known || level == *text;
        names += (names.empty() ? "" : ", ") + std::string(level);
      }
      if (known)
        global.log_level = *text;
      else
        problems.add(entry->line, entry->key, "unknown log level " + quote_value(*text) + " (known: " + names + ")");
    }
  }
  if (auto entry = map.take("max_concurrent_hooks"))
    if (auto value = read_integer(*entry, problems, 1, max_limit)) global.max_concurrent_hooks = static_cast<unsigned>(*value);
  if (auto entry = map.take("hook_queue_limit"))
    if (auto value = read_integer(*entry, problems, 1, max_limit)) global.hook_queue_limit = static_cast<std::size_t>(*value);
  if (auto entry = map.take("kill_grace"))
    if (auto value = read_duration(*entry, problems)) global.kill_grace = *value;
  if (auto entry = map.take("max_sessions"))
    if (auto value = read_integer(*entry, problems, 1, max_limit)) global.max_sessions = static_cast<std::size_t>(*value);
  if (auto entry = map.take("hook_output_max_lines"))
    if (auto value = read_integer(*entry, problems, 1, max_limit))
      global.hook_output_max_lines = static_cast<std::size_t>(*value);
  map.finish();
  return global;
}

}  // namespace vhm::conf
