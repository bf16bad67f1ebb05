// The `recording:` keys, top-level and per listener (conf/load_recording.hpp).
#include "conf/load_recording.hpp"

#include <algorithm>
#include <array>
#include <set>
#include <string_view>
#include <vector>

#include "conf/config_sections.hpp"
#include "conf/event_schema.hpp"
#include "conf/placeholders.hpp"
#include "conf/size.hpp"

namespace vhm::conf {
namespace fs = std::filesystem;
namespace {

// The fields a file name may use: known when a recording is named (the
// session's start, its endpoints, what the handshake showed). The end of a
// session (reason, duration, bytes...) is not known yet.
constexpr std::array<Field, 14> name_fields = {
    Field::session_id,  Field::timestamp,   Field::client_ip,     Field::client_port,  Field::listen,
    Field::target_host, Field::target_port, Field::display,       Field::user,         Field::rfb_version,
    Field::security_type, Field::desktop_name, Field::width,      Field::height};

constexpr std::uint64_t min_queue_size = 64 * 1024;
constexpr std::uint64_t max_queue_size = 1024 * 1024 * 1024;
constexpr std::int64_t max_zstd_level = 19;  // 20..22 ("ultra") need far more memory per session

std::string name_field_list() {
  std::string names;
  for (Field field : name_fields) names += (names.empty() ? "" : ", ") + std::string(to_string(field));
  return names;
}

bool is_name_field(std::string_view name) {
  for (Field field : name_fields)
    if (to_string(field) == name) return true;
  return false;
}

// The file name template: relative, below dir, and unique per session.
void check_name(const std::string& name, const Entry& entry, ProblemList& problems) {
  const auto bad = [&](const std::string& message) { problems.add(entry.line, entry.key, message); };
  const std::string quoted = quote_value(name);
  bool empty_segment = false;
  bool dot_segment = false;
  for (std::size_t start = 0; start <= name.size();) {
    std::size_t end = name.find('/', start);
    if (end == std::string::npos) end = name.size();
    const std::string_view segment = std::string_view(name).substr(start, end - start);
    empty_segment = empty_segment || segment.empty();
    dot_segment = dot_segment || segment == "." || segment == "..";
    start = end + 1;
  }
  // One message for the shape: the first that applies says the most.
  if (name.front() == '/')
    bad("must be relative to dir, got " + quoted);
  else if (name.back() == '/')
    bad("must name a file, not end in '/', got " + quoted);
  else if (empty_segment)
    bad("must not contain an empty path segment ('//'), got " + quoted);
  else if (dot_segment)
    bad("must not contain a '.' or '..' path segment (files stay below dir), got " + quoted);

  if (name.find('\0') != std::string::npos) bad("must not contain a NUL byte");

  // record/naming.hpp reads every {...} as a placeholder: braces that are not
  // one would expand differently from what the template says.
  const auto refs = find_placeholders(name);
  std::vector<bool> in_placeholder(name.size(), false);
  for (const auto& ref : refs)
    std::fill_n(in_placeholder.begin() + static_cast<std::ptrdiff_t>(ref.offset), ref.name.size() + 2, true);
  for (std::size_t i = 0; i < name.size(); ++i) {
    if ((name[i] == '{' || name[i] == '}') && !in_placeholder[i]) {
      bad("'{' and '}' may only enclose a placeholder such as {session_id} (character " + std::to_string(i + 1) +
          "), got " + quoted);
      break;
    }
  }

  bool has_session_id = false;
  std::set<std::string> reported;
  for (const auto& ref : refs) {
    has_session_id = has_session_id || ref.name == "session_id";
    if (is_name_field(ref.name) || !reported.insert(ref.name).second) continue;
    if (parse_field(ref.name))
      bad("{" + ref.name + "} cannot be used in a recording name, which is chosen when the session starts (usable: " +
          name_field_list() + ")");
    else
      bad("unknown placeholder {" + ref.name + "} (usable: " + name_field_list() + ")");
  }
  if (!has_session_id)
    bad("must contain {session_id}, so that two sessions never write the same file, got " + quoted);
}

// Always octal, like chmod: "0600", "600" and YAML 1.2's "0o600" are the
// same mode. The scalar's text is read, never yaml-cpp's number conversion,
// so `mode: 0600` and `mode: "0600"` cannot differ.
std::optional<mode_t> read_file_mode(const Entry& entry, ProblemList& problems) {
  const auto text = read_string(entry, problems);
  if (!text) return std::nullopt;
  std::string_view digits = *text;
  if (digits.starts_with("0o")) digits.remove_prefix(2);
  const bool octal = !digits.empty() && digits.size() <= 12 && digits.find_first_not_of("01234567") == std::string_view::npos;
  if (!octal) {
    problems.add(entry.line, entry.key, "expected an octal file mode like 0600 or 0640, got " + quote_value(*text));
    return std::nullopt;
  }
  unsigned long mode = 0;
  for (char c : digits) mode = mode * 8 + static_cast<unsigned long>(c - '0');
  std::string problem;
  if (mode > 0777)
    problem = "must have only permission bits (at most 0777; no setuid, setgid or sticky bit)";
  else if ((mode & 0600) != 0600)
    problem = "must let the owner read and write (0600): the proxy writes the file and the player reads it";
  else if ((mode & 0022) != 0)
    problem = "must not let group or others write: a recording is a record of what happened";
  else if ((mode & 0111) != 0)
    problem = "must not be executable";
  if (!problem.empty()) {
    problems.add(entry.line, entry.key, problem + ", got " + quote_value(*text));
    return std::nullopt;
  }
  return static_cast<mode_t>(mode);
}

// conf/size.hpp syntax, within [min, max].
std::optional<std::uint64_t> read_recording_size(const Entry& entry, ProblemList& problems, std::uint64_t min,
                                       std::optional<std::uint64_t> max) {
  const auto text = read_string(entry, problems);
  if (!text) return std::nullopt;
  std::string error;
  const auto size = parse_size(*text, error);
  if (!size) {
    problems.add(entry.line, entry.key, error + ", got " + quote_value(*text));
    return std::nullopt;
  }
  if (*size < min || (max && *size > *max)) {
    std::string range = min <= 1 ? "must be greater than 0" : "must be at least " + format_size(min);
    if (max) range += " and at most " + format_size(*max);
    problems.add(entry.line, entry.key, range + ", got " + quote_value(*text));
    return std::nullopt;
  }
  return size;
}

// One of `names`, as its index.
template <std::size_t N>
std::optional<std::size_t> read_recording_choice(const Entry& entry, ProblemList& problems,
                                       const std::array<std::string_view, N>& names) {
  const auto text = read_string(entry, problems);
  if (!text) return std::nullopt;
  std::string known;
  for (std::size_t i = 0; i < N; ++i) {
    if (names[i] == *text) return i;
    known += (i == 0 ? "" : i + 1 == N ? " or " : ", ") + std::string(names[i]);
  }
  problems.add(entry.line, entry.key, "expected " + known + ", got " + quote_value(*text));
  return std::nullopt;
}

// What one level (the section, or a listener's key) said.
struct RecordingLevel {
  bool present = false;      // the level has a recording: key at all
  bool says_enabled = false;  // it gave `enabled` (or the true/false shorthand)
  bool sets_other = false;    // it gave any other key
  int line = 0;
};

// Applies one `recording:` value over `config`.
RecordingLevel apply_recording(const Entry& entry, const fs::path& base_dir, RecordingConfig& config, ProblemList& problems) {
  RecordingLevel level{true, false, false, entry.line};
  if (entry.node.IsScalar()) {  // the shorthand
    const std::string& text = entry.node.Scalar();
    if (text == "true" || text == "True" || text == "TRUE" || text == "false" || text == "False" ||
        text == "FALSE") {
      config.enabled = text[0] == 't' || text[0] == 'T';
      config.line = entry.line;
      level.says_enabled = true;
    } else {
      problems.add(entry.line, entry.key,
                   "expected true, false or a mapping of recording settings, got " + quote_value(text));
    }
    return level;
  }
  MapReader map(entry, problems);
  if (!map.ok()) return level;
  if (auto item = map.take("enabled")) {
    level.says_enabled = true;
    if (auto value = read_bool(*item, problems)) {
      config.enabled = *value;
      config.line = entry.line;
    }
  }
  // Everything but `enabled` counts as a setting, valid or not.
  const auto take = [&](std::string_view key) {
    auto item = map.take(key);
    level.sets_other = level.sets_other || item.has_value();
    return item;
  };
  if (auto item = take("dir"))
    if (auto text = read_nonempty_string(*item, problems)) config.dir = resolve_config_path(*text, base_dir);
  if (auto item = take("name")) {
    if (auto text = read_nonempty_string(*item, problems)) {
      const std::size_t before = problems.size();
      check_name(*text, *item, problems);
      if (problems.size() == before) config.name = *text;
    }
  }
  if (auto item = take("mode"))
    if (auto value = read_file_mode(*item, problems)) config.mode = *value;
  if (auto item = take("include_input"))
    if (auto value = read_bool(*item, problems)) config.include_input = *value;
  if (auto item = take("on_error")) {
    constexpr std::array<std::string_view, 2> names = {"continue", "close_session"};
    if (auto index = read_recording_choice(*item, problems, names))
      config.on_error = *index == 0 ? RecordingOnError::continue_session : RecordingOnError::close_session;
  }
  if (auto item = take("max_age"))
    if (auto value = read_whole_seconds(*item, problems)) config.max_age = *value;
  if (auto item = take("max_total_size"))
    if (auto value = read_recording_size(*item, problems, 1, std::nullopt)) config.max_total_size = *value;
  if (auto item = take("compression")) {
    constexpr std::array<std::string_view, 2> names = {"none", "zstd"};
    if (auto index = read_recording_choice(*item, problems, names))
      config.compression = *index == 0 ? RecordingCompression::none : RecordingCompression::zstd;
  }
  if (auto item = take("zstd_level"))
    if (auto value = read_integer(*item, problems, 1, max_zstd_level)) config.zstd_level = static_cast<int>(*value);
  if (auto item = take("queue_size"))
    if (auto value = read_recording_size(*item, problems, min_queue_size, max_queue_size)) config.queue_size = *value;
  map.finish();
  return level;
}

}  // namespace

RecordingConfig load_global_recording(const std::optional<Entry>& section, const fs::path& base_dir,
                                      ProblemList& problems) {
  RecordingConfig config;
  if (!section) return config;
  const RecordingLevel level = apply_recording(*section, base_dir, config, problems);
  if (level.sets_other && !level.says_enabled)
    problems.add(section->line, section->key,
                 "say enabled: true to record every listener's sessions, or enabled: false to keep these "
                 "settings for listeners that say recording: true (recording is off unless enabled)");
  return config;
}

void load_listener_recording(MapReader& listener, const RecordingConfig& global, const fs::path& base_dir,
                             ListenerConfig& config, ProblemList& problems) {
  config.recording = global;
  RecordingLevel level;
  const auto entry = listener.take("recording");
  if (entry) {
    level = apply_recording(*entry, base_dir, config.recording, problems);
    if (level.sets_other && !level.says_enabled && !global.enabled)
      problems.add(entry->line, entry->key,
                   "recording is not enabled in the top-level recording section: say enabled: true here to "
                   "record this listener's sessions (or enabled: false)");
  }
  if (!config.recording.enabled || !config.recording.dir.empty()) return;
  const std::string where = entry ? entry->key : listener.key_path("recording");
  const std::string enabled_at = config.recording.line > 0 ? " (enabled at line " + std::to_string(config.recording.line) + ")" : "";
  problems.add(entry ? entry->line : listener.self().line, where + ".dir",
               "dir is required when recording is enabled" + enabled_at +
                   "; set it here or in the top-level recording section");
}

}  // namespace vhm::conf
