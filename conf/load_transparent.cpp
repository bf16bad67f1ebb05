#include "conf/load_transparent.hpp"

namespace vhm::conf {
namespace {

std::string_view mode_name(Transparent mode) {
  switch (mode) {
    case Transparent::off: return "off";
    case Transparent::redirect: return "redirect";
    case Transparent::tproxy: return "tproxy";
  }
  return "off";
}

std::optional<Transparent> read_mode(const Entry& entry, ProblemList& problems) {
  const auto text = read_string(entry, problems);
  if (!text) return std::nullopt;
  for (auto mode : {Transparent::off, Transparent::redirect, Transparent::tproxy})
    if (*text == mode_name(mode)) return mode;
  problems.add(entry.line, entry.key, "expected redirect, tproxy or off, got " + quote_value(*text));
  return std::nullopt;
}

std::vector<TargetRule> read_rules(const Entry& entry, ProblemList& problems) {
  std::vector<TargetRule> rules;
  for (const Entry& item : read_list(entry, problems, "target rules")) {
    const auto text = read_nonempty_string(item, problems);
    if (!text) continue;
    std::string error;
    if (auto rule = parse_target_rule(*text, error))
      rules.push_back(*rule);
    else
      problems.add(item.line, item.key, error);
  }
  return rules;
}

}  // namespace

bool load_transparent(MapReader& map, ListenerConfig& config, ProblemList& problems) {
  const auto mode_entry = map.take("transparent");
  bool mode_ok = true;
  if (mode_entry) {
    const auto mode = read_mode(*mode_entry, problems);
    mode_ok = mode.has_value();
    if (mode) config.transparent = *mode;
  }
  const auto rules_entry = map.take("allow_targets");
  const std::size_t problems_before = problems.size();
  if (rules_entry) config.allow_targets = read_rules(*rules_entry, problems);
  const bool rules_ok = problems.size() == problems_before;

  if (config.transparent == Transparent::off) {
    if (rules_entry && mode_ok)
      problems.add(rules_entry->line, rules_entry->key,
                   "allow_targets applies only to transparent listeners (transparent: redirect or tproxy)");
    if (mode_ok) return false;
    map.take("target");  // a misspelt mode is the problem: neither demand nor reject a target
    return true;
  }
  const std::string mode = "transparent: " + std::string(mode_name(config.transparent));
  if (!rules_entry)
    problems.add(mode_entry->line, map.key_path("allow_targets"),
                 "allow_targets is required with " + mode +
                     ": list the destinations the proxy may relay to (e.g. \"10.0.0.0/24:5900-5999\"); "
                     "without it the proxy would be an open relay");
  else if (config.allow_targets.empty() && rules_ok)
    problems.add(rules_entry->line, rules_entry->key,
                 "allow_targets must not be empty with " + mode + ": nothing could ever be relayed");
  map.reject("target", "target is not used with " + mode +
                           ": each connection goes to its own original destination (see allow_targets)");
  return true;
}

}  // namespace vhm::conf
