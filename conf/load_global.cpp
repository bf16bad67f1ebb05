#include "conf/config_sections.hpp"

#include <algorithm>
#include <array>
#include <string_view>

#include "conf/user_lookup.hpp"

namespace vhm::conf {
namespace {

constexpr std::array<std::string_view, 7> log_levels = {"trace", "debug", "info", "warn",
                                                        "error", "critical", "off"};

// A millisecond of spinning per burst is already more CPU than any latency it saves.
constexpr std::int64_t max_busy_poll_us = 1000;

// "0", "0s", "0.0ms"...: the one duration that may be zero (shutdown_grace).
bool is_zero_duration(std::string_view text) {
  for (std::string_view unit : {"ms", "s", "m", "h"}) {
    if (text.ends_with(unit)) {
      text.remove_suffix(unit.size());
      break;
    }
  }
  const auto zeros = [](std::string_view part) {
    return !part.empty() && part.find_first_not_of('0') == std::string_view::npos;
  };
  const auto dot = text.find('.');
  return dot == std::string_view::npos ? zeros(text) : zeros(text.substr(0, dot)) && zeros(text.substr(dot + 1));
}

// `user:` and `group:` (the account the service drops to), looked up now so
// an unknown name is a config error and the drop itself needs no lookups.
void load_account(MapReader& map, GlobalConfig& global, ProblemList& problems) {
  bool user_given = false;
  if (auto entry = map.take("user")) {
    user_given = true;
    if (auto name = read_nonempty_string(*entry, problems)) {
      std::string error;
      if (auto user = resolve_user(*name, error))
        global.user = std::move(*user);
      else
        problems.add(entry->line, entry->key, error);
    }
  }
  auto entry = map.take("group");
  if (!entry) return;
  auto name = read_nonempty_string(*entry, problems);
  if (!name) return;
  if (!user_given) {
    problems.add(entry->line, entry->key, "group needs user (the process switches both together)");
    return;
  }
  std::string error;
  const auto gid = resolve_group(*name, error);
  if (!gid) {
    problems.add(entry->line, entry->key, error);
    return;
  }
  global.group = *name;
  if (!global.user) return;
  // The group replaces the user's primary group, among the supplementary groups too.
  auto& groups = global.user->groups;
  std::erase(groups, global.user->gid);
  if (std::find(groups.begin(), groups.end(), *gid) == groups.end()) groups.insert(groups.begin(), *gid);
  global.user->gid = *gid;
}

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
  if (auto entry = map.take("max_concurrent_webhooks"))
    if (auto value = read_integer(*entry, problems, 1, max_limit))
      global.max_concurrent_webhooks = static_cast<unsigned>(*value);
  if (auto entry = map.take("kill_grace"))
    if (auto value = read_duration(*entry, problems)) global.kill_grace = *value;
  if (auto entry = map.take("max_sessions"))
    if (auto value = read_integer(*entry, problems, 1, max_limit)) global.max_sessions = static_cast<std::size_t>(*value);
  if (auto entry = map.take("hook_output_max_lines"))
    if (auto value = read_integer(*entry, problems, 1, max_limit))
      global.hook_output_max_lines = static_cast<std::size_t>(*value);
  if (auto entry = map.take("shutdown_grace")) {
    if (entry->node.IsScalar() && is_zero_duration(entry->node.Scalar()))
      global.shutdown_grace = std::chrono::milliseconds(0);
    else if (auto value = read_duration(*entry, problems))
      global.shutdown_grace = *value;
  }
  if (auto entry = map.take("busy_poll_us"))
    if (auto value = read_integer(*entry, problems, 0, max_busy_poll_us)) global.busy_poll_us = static_cast<unsigned>(*value);
  if (auto entry = map.take("handshake_poll_us"))
    if (auto value = read_integer(*entry, problems, 0, max_busy_poll_us))
      global.handshake_poll_us = static_cast<unsigned>(*value);
  load_account(map, global, problems);
  map.finish();
  return global;
}

}  // namespace vhm::conf
