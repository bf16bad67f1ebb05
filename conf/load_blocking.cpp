// The blocking: and control: sections (auth-failure bans and the control socket).
#include "conf/config_sections.hpp"
#include "conf/duration.hpp"

namespace vhm::conf {
namespace {

// Failure times are kept per key up to this many; a real limit is a handful.
constexpr std::int64_t max_failures_limit = 10'000;
// sockaddr_un.sun_path holds 108 bytes including the terminating NUL.
constexpr std::size_t max_socket_path = 107;

void load_key(const Entry& entry, BlockingConfig& blocking, ProblemList& problems) {
  MapReader map(entry, problems);
  if (!map.ok()) return;
  if (auto item = map.take("ipv4_prefix"))
    if (auto value = read_integer(*item, problems, 1, 32)) blocking.ipv4_prefix = static_cast<unsigned>(*value);
  if (auto item = map.take("ipv6_prefix"))
    if (auto value = read_integer(*item, problems, 1, 128)) blocking.ipv6_prefix = static_cast<unsigned>(*value);
  map.finish();
}

}  // namespace

std::optional<BlockingConfig> load_blocking(const std::optional<Entry>& section, const std::filesystem::path& base_dir,
                                            ProblemList& problems) {
  if (!section) return std::nullopt;
  MapReader map(*section, problems);
  if (!map.ok()) return std::nullopt;
  BlockingConfig blocking;
  blocking.line = section->line;
  bool enabled = true;
  if (auto entry = map.take("enabled"))
    if (auto value = read_bool(*entry, problems)) enabled = *value;
  if (auto entry = map.take("max_failures"))
    if (auto value = read_integer(*entry, problems, 1, max_failures_limit))
      blocking.max_failures = static_cast<unsigned>(*value);
  if (auto entry = map.take("window"))
    if (auto value = read_whole_seconds(*entry, problems)) blocking.window = *value;
  // ban <= max_ban is checked only between values that were read successfully.
  const std::optional<Entry> ban_entry = map.take("ban");
  bool ban_ok = !ban_entry;
  if (ban_entry)
    if (auto value = read_whole_seconds(*ban_entry, problems)) {
      blocking.ban = *value;
      ban_ok = true;
    }
  if (auto entry = map.take("max_ban")) {
    if (auto value = read_whole_seconds(*entry, problems)) {
      blocking.max_ban = *value;
      if (ban_ok && blocking.max_ban < blocking.ban)
        problems.add(entry->line, entry->key,
                     "max_ban (" + format_duration(blocking.max_ban) + ") must not be shorter than ban (" +
                         format_duration(blocking.ban) + ")");
    }
  } else if (ban_entry && ban_ok && blocking.ban > blocking.max_ban) {
    problems.add(ban_entry->line, ban_entry->key,
                 "ban (" + format_duration(blocking.ban) + ") is longer than the default max_ban (" +
                     format_duration(blocking.max_ban) + "); set max_ban too");
  }
  if (auto entry = map.take("allow")) blocking.allow = load_cidr_list(*entry, problems);
  if (auto entry = map.take("key")) load_key(*entry, blocking, problems);
  if (auto entry = map.take("state_file"))
    if (auto text = read_string(*entry, problems); text && !text->empty())
      blocking.state_file = resolve_config_path(*text, base_dir);
  if (auto entry = map.take("shared")) blocking.shared = load_redis(*entry, base_dir, problems);
  map.finish();
  if (!enabled) return std::nullopt;
  return blocking;
}

std::filesystem::path load_control(const std::optional<Entry>& section, const std::filesystem::path& base_dir,
                                   ProblemList& problems) {
  std::filesystem::path socket;
  if (!section) return socket;
  MapReader map(*section, problems);
  if (!map.ok()) return socket;
  if (auto entry = map.take("socket")) {
    if (auto text = read_string(*entry, problems); text && !text->empty()) {
      socket = resolve_config_path(*text, base_dir);
      if (socket.native().size() > max_socket_path) {
        problems.add(entry->line, entry->key,
                     "the socket path " + quote_value(socket.string()) + " is " +
                         std::to_string(socket.native().size()) + " bytes; a unix socket path can have at most " +
                         std::to_string(max_socket_path));
        socket.clear();
      }
    }
  }
  map.finish();
  return socket;
}

}  // namespace vhm::conf
