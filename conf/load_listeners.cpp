#include "conf/address.hpp"
#include "conf/config_sections.hpp"
#include "conf/load_frontend.hpp"
#include "conf/load_transparent.hpp"
#include "conf/load_listener_tls.hpp"
#include "conf/load_recording.hpp"
#include "conf/load_session_policy.hpp"

namespace vhm::conf {
namespace {

// "3.8", "3.889", "5.0": a ProtocolVersion a server may send, as major.minor.
std::optional<std::pair<int, int>> parse_server_version(const std::string& text) {
  const auto dot = text.find('.');
  if (dot == std::string::npos || dot == 0 || dot > 3 || text.size() - dot - 1 == 0 || text.size() - dot - 1 > 3)
    return std::nullopt;
  for (std::size_t i = 0; i < text.size(); ++i)
    if (i != dot && (text[i] < '0' || text[i] > '9')) return std::nullopt;
  const int major = std::stoi(text.substr(0, dot));
  const int minor = std::stoi(text.substr(dot + 1));
  // The versions servers announce: 3.3 and up (the aliases map onto 3.3/3.7/3.8), 4.x, 5.x.
  if ((major == 3 && minor >= 3) || major == 4 || major == 5) return std::pair{major, minor};
  return std::nullopt;
}

bool is_all_addresses(const std::string& host) { return host.empty() || host == "::"; }
bool is_ipv4(const std::string& host) { return !host.empty() && host.find(':') == std::string::npos; }

// Two listen addresses that cannot both be bound. Port 0 (kernel's choice)
// never conflicts; ":port" and "[::]:port" are dual-stack and cover everything.
bool conflicts(const HostPort& a, const HostPort& b) {
  if (a.port != b.port || a.port == 0) return false;
  if (a.host == b.host || is_all_addresses(a.host) || is_all_addresses(b.host)) return true;
  return (a.host == "0.0.0.0" && is_ipv4(b.host)) || (b.host == "0.0.0.0" && is_ipv4(a.host));
}

struct Parsed {
  ListenerConfig config;
  std::string key;
  bool has_listen = false;
  int listen_line = 0;
};

std::optional<Parsed> load_listener(const Entry& item, const RecordingConfig& recording,
                                    const std::filesystem::path& base_dir, ProblemList& problems) {
  MapReader map(item, problems);
  if (!map.ok()) return std::nullopt;
  Parsed parsed;
  parsed.key = item.key;
  parsed.config.line = item.line;
  if (item.node.IsNull()) {
    problems.add(item.line, item.key, "empty listener: listen and target are required");
    return std::nullopt;
  }

  const auto address = [&](std::string_view key, auto parse) -> std::optional<HostPort> {
    auto entry = map.take(key);
    if (!entry) {
      problems.add(item.line, map.key_path(key), std::string(key) + " is required");
      return std::nullopt;
    }
    auto text = read_string(*entry, problems);
    if (!text) return std::nullopt;
    std::string error;
    auto result = parse(*text, error);
    if (!result) problems.add(entry->line, entry->key, error);
    if (key == "listen") parsed.listen_line = entry->line;
    return result;
  };
  if (auto listen = address("listen", parse_listen_address)) {
    parsed.config.listen = *listen;
    parsed.has_listen = true;
  }
  // A transparent listener has no target; with tokens (browser access) the
  // token names it, so target is optional there (load_frontend checks the rest).
  const bool transparent = load_transparent(map, parsed.config, problems);
  const bool tokens_instead = !transparent && map.has("tokens") && !map.has("target");
  if (!transparent && !tokens_instead)
    if (auto target = address("target", parse_target_address)) parsed.config.target = *target;
  if (auto entry = map.take("user"))
    if (auto text = read_string(*entry, problems)) parsed.config.user = *text;
  if (auto entry = map.take("handshake_timeout"))
    if (auto value = read_whole_seconds(*entry, problems)) parsed.config.handshake_timeout = *value;
  if (auto entry = map.take("connect_timeout"))
    if (auto value = read_whole_seconds(*entry, problems)) parsed.config.connect_timeout = *value;
  if (auto entry = map.take("allow")) parsed.config.allow = load_cidr_list(*entry, problems);
  if (auto entry = map.take("deny")) parsed.config.deny = load_cidr_list(*entry, problems);
  const auto limit = [&](std::string_view key, std::optional<std::size_t>& field) {
    if (auto entry = map.take(key))
      if (auto value = read_integer(*entry, problems, 1, max_limit)) field = static_cast<std::size_t>(*value);
  };
  limit("max_sessions", parsed.config.max_sessions);
  limit("max_sessions_per_ip", parsed.config.max_sessions_per_ip);
  limit("max_connects_per_minute", parsed.config.max_connects_per_minute);
  if (auto entry = map.take("scanner_shield"))
    if (auto value = read_bool(*entry, problems)) parsed.config.scanner_shield = *value;
  if (auto entry = map.take("server_version")) {
    if (auto text = read_string(*entry, problems)) {
      parsed.config.server_version = parse_server_version(*text);
      if (!parsed.config.server_version)
        problems.add(entry->line, entry->key,
                     "\"" + *text + "\" is not an RFB server version: use major.minor as servers announce it, "
                     "e.g. 3.8, 3.7, 3.3 or 5.0");
    }
  }
  load_listener_tls(map, parsed.config, problems);
  load_listener_recording(map, recording, base_dir, parsed.config, problems);
  load_session_policy(map, base_dir, parsed.config, problems);
  load_frontend(map, base_dir, !tokens_instead, parsed.config, problems);
  map.finish();
  return parsed;
}

// What a user who followed a guide without listeners: needs to read.
constexpr std::string_view no_listeners_message =
    "no listeners: nothing to do. Add a listeners: section, e.g.\n"
    "  listeners:\n"
    "    - { listen: \":5900\", target: \"127.0.0.1:5901\" }\n"
    "or give --listen ADDR --target ADDR on the command line.";

const std::string command_line = "command line";

// The command line's listeners after the file's: the top-level recording
// applies to them as it is, and their addresses must not overlap any other.
void add_command_line_listeners(const LoadOptions& options, const RecordingConfig& recording,
                                std::vector<Parsed>& seen, std::vector<ListenerConfig>& listeners,
                                ProblemList& problems) {
  for (const auto& argument : options.extra_listeners) {
    std::vector<ConfigProblem> found;
    auto listener = listener_from_argument(argument, found);
    for (auto& problem : found) problems.add(std::move(problem));
    if (!listener) continue;
    const std::string key = "--listen " + argument.listen;
    listener->recording = recording;
    if (recording.enabled && recording.dir.empty())
      problems.add({command_line, 0, key,
                    "the top-level recording section (line " + std::to_string(recording.line) +
                        ") enables recording without a dir; --listen listeners use that section as it is: "
                        "add dir there"});
    for (const Parsed& other : seen) {
      if (!other.has_listen || !conflicts(listener->listen, other.config.listen)) continue;
      const std::string where =
          other.listen_line > 0 ? other.key + " (line " + std::to_string(other.listen_line) + ")" : other.key;
      problems.add({command_line, 0, key,
                    "listen address " + format_host_port(listener->listen) + " overlaps " +
                        format_host_port(other.config.listen) + " of " + where + ": both cannot be bound"});
      break;
    }
    Parsed parsed;
    parsed.config = *listener;
    parsed.key = key;
    parsed.has_listen = true;
    seen.push_back(parsed);
    listeners.push_back(std::move(*listener));
  }
}

}  // namespace

std::optional<ListenerConfig> listener_from_argument(const ListenerArgument& argument,
                                                     std::vector<ConfigProblem>& problems) {
  ListenerConfig listener;
  bool ok = true;
  std::string error;
  if (auto address = parse_listen_address(argument.listen, error)) {
    listener.listen = *address;
  } else {
    problems.push_back({command_line, 0, "--listen " + argument.listen, error});
    ok = false;
  }
  if (auto address = parse_target_address(argument.target, error)) {
    listener.target = *address;
  } else {
    problems.push_back({command_line, 0, "--target " + argument.target, error});
    ok = false;
  }
  if (!ok) return std::nullopt;
  return listener;
}

std::vector<ListenerConfig> load_listeners(const std::optional<Entry>& section, const RecordingConfig& recording,
                                           const std::filesystem::path& base_dir, const LoadOptions& options,
                                           ProblemList& problems) {
  std::vector<ListenerConfig> listeners;
  std::vector<Parsed> seen;
  const bool file_has_none =
      !section || section->node.IsNull() || (section->node.IsSequence() && section->node.size() == 0);
  if (file_has_none) {
    if (options.extra_listeners.empty() && options.require_listeners)
      problems.add(section ? section->line : 0, "listeners", std::string(no_listeners_message));
    add_command_line_listeners(options, recording, seen, listeners, problems);
    return listeners;
  }
  for (const Entry& item : read_list(*section, problems, "listeners")) {
    auto parsed = load_listener(item, recording, base_dir, problems);
    if (!parsed) continue;
    if (parsed->has_listen) {
      for (const Parsed& other : seen) {
        if (!other.has_listen || !conflicts(parsed->config.listen, other.config.listen)) continue;
        const std::string mine = format_host_port(parsed->config.listen);
        const std::string theirs = format_host_port(other.config.listen);
        const std::string where = other.key + " (line " + std::to_string(other.listen_line) + ")";
        problems.add(parsed->listen_line, parsed->key + ".listen",
                     mine == theirs ? "duplicate listen address " + mine + ": " + where + " already listens there"
                                    : "listen address " + mine + " overlaps " + theirs + " of " + where +
                                          ": both cannot be bound");
        break;
      }
    }
    listeners.push_back(parsed->config);
    seen.push_back(std::move(*parsed));
  }
  add_command_line_listeners(options, recording, seen, listeners, problems);
  return listeners;
}

}  // namespace vhm::conf
