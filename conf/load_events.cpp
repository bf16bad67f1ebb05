#include "conf/config_sections.hpp"
#include "conf/user_lookup.hpp"

namespace vhm::conf {
namespace {

constexpr std::int64_t max_retries = 1000;

// The hook-level keys that only one kind of handler understands.
constexpr std::string_view command_only_keys[] = {"cmd", "timeout", "run_as", "terminate_on_next_event", "gate"};

void load_command_hook(MapReader& map, const GlobalConfig& global, HookConfig& hook, ProblemList& problems) {
  map.reject("path", "path is only for action: log (a command hook writes where its cmd says)");
  if (auto entry = map.take("cmd")) {
    if (auto argv = load_hook_command(*entry, global.hooks_dir, problems)) hook.argv = std::move(*argv);
  } else {
    problems.add(map.self().line, map.key_path("cmd"), "cmd is required (or set action: log with a path)");
  }
  if (auto entry = map.take("timeout"))
    if (auto value = read_duration(*entry, problems)) hook.timeout = *value;
  if (auto entry = map.take("run_as")) {
    if (auto name = read_nonempty_string(*entry, problems)) {
      std::string error;
      if (auto user = resolve_user(*name, error))
        hook.run_as = std::move(*user);
      else
        problems.add(entry->line, entry->key, error);
    }
  }
  if (auto entry = map.take("terminate_on_next_event"))
    if (auto value = read_bool(*entry, problems)) hook.terminate_on_next_event = *value;
  if (!gate_allowed(hook.event)) {
    map.reject("gate", "gate is only allowed on connect and auth_success handlers, not on " +
                           std::string(to_string(hook.event)));
  } else if (auto entry = map.take("gate")) {
    if (auto value = read_bool(*entry, problems)) hook.gate = *value;
  }
}

void load_log_hook(MapReader& map, const std::filesystem::path& base_dir, HookConfig& hook, ProblemList& problems) {
  for (auto key : command_only_keys)
    map.reject(key, std::string(key) + " does not apply to action: log");
  if (auto entry = map.take("path")) {
    if (auto text = read_nonempty_string(*entry, problems)) hook.path = resolve_config_path(*text, base_dir);
  } else {
    problems.add(map.self().line, map.key_path("path"), "path is required for action: log");
  }
}

struct LoadedHook {
  HookConfig config;
  int name_line = 0;
};

std::optional<LoadedHook> load_hook(const Entry& item, EventKind kind, const GlobalConfig& global,
                                    const std::filesystem::path& base_dir, ProblemList& problems) {
  MapReader map(item, problems);
  if (!map.ok()) return std::nullopt;
  if (item.node.IsNull()) {
    problems.add(item.line, item.key, "empty hook: name and cmd (or action: log and path) are required");
    return std::nullopt;
  }
  LoadedHook loaded;
  HookConfig& hook = loaded.config;
  hook.event = kind;
  hook.line = item.line;

  if (auto entry = map.take("name")) {
    loaded.name_line = entry->line;
    if (auto text = read_nonempty_string(*entry, problems)) hook.name = *text;
  } else {
    problems.add(item.line, map.key_path("name"), "name is required");
  }

  std::string action = "command";
  if (auto entry = map.take("action")) {
    if (auto text = read_string(*entry, problems)) action = *text;
    if (action != "command" && action != "log" && action != "webhook" && action != "syslog") {
      problems.add(entry->line, entry->key,
                   "unknown action " + quote_value(action) + " (known: command, log, webhook, syslog)");
      map.ignore_rest();
      return loaded;
    }
  }
  if (action == "log") {
    hook.action = HookAction::log;
    load_log_hook(map, base_dir, hook, problems);
  } else if (action == "webhook") {
    hook.action = HookAction::webhook;
    load_webhook_hook(map, base_dir, hook, problems);
  } else if (action == "syslog") {
    hook.action = HookAction::syslog;
    load_syslog_hook(map, hook, problems);
  } else {
    hook.action = HookAction::command;
    load_command_hook(map, global, hook, problems);
  }
  if (auto entry = map.take("retries"))
    if (auto value = read_integer(*entry, problems, 0, max_retries)) hook.retries = static_cast<int>(*value);
  map.finish();
  return loaded;
}

}  // namespace

// A gate holds the session until it answers; only these moments can be held.
// Command hooks and webhooks can be gates (a webhook passes with a 2xx reply).
bool gate_allowed(EventKind kind) { return kind == EventKind::connect || kind == EventKind::auth_success; }

std::map<EventKind, std::vector<HookConfig>> load_events(const Entry& section, const GlobalConfig& global,
                                                         const std::filesystem::path& base_dir,
                                                         ProblemList& problems) {
  std::map<EventKind, std::vector<HookConfig>> events;
  MapReader map(section, problems);
  if (!map.ok()) return events;
  for (auto name : event_kind_names) {
    const auto entry = map.take(name);
    if (!entry) continue;
    const EventKind kind = *parse_event_kind(name);
    auto& hooks = events[kind];
    std::vector<LoadedHook> seen;
    for (const Entry& item : read_list(*entry, problems, "hooks")) {
      auto loaded = load_hook(item, kind, global, base_dir, problems);
      if (!loaded) continue;
      const std::string& hook_name = loaded->config.name;
      for (const auto& other : seen) {
        if (hook_name.empty() || other.config.name != hook_name) continue;
        problems.add(loaded->name_line, item.key + ".name",
                     "duplicate name " + quote_value(hook_name) + " in " + entry->key + " (first at line " +
                         std::to_string(other.name_line) + ")");
        break;
      }
      hooks.push_back(loaded->config);
      seen.push_back(std::move(*loaded));
    }
  }
  map.finish("event");
  return events;
}

}  // namespace vhm::conf
