// A listener's `session:` keys (conf/load_session_policy.hpp).
#include "conf/load_session_policy.hpp"

#include <array>
#include <string_view>

#include "conf/config_sections.hpp"
#include "conf/duration.hpp"
#include "conf/size.hpp"

namespace vhm::conf {
namespace fs = std::filesystem;
namespace {

// The trackers frame at most this much of one cut text message
// (rfb::ClientLimits / rfb::ServerLimits::max_cut_text): a larger limit
// could never be reached.
constexpr std::uint64_t max_clipboard_limit = 64u << 20;
// Shorter quiet periods would make screen_change fire on every animation frame.
constexpr std::chrono::milliseconds min_screen_change_quiet{100};

constexpr std::array<std::string_view, 3> clipboard_action_names = {"allow", "deny", "log"};

// One of `names`, as its index; "expected a, b or c, got ...".
template <std::size_t N>
std::optional<std::size_t> read_session_choice(const Entry& entry, ProblemList& problems,
                                               const std::array<std::string_view, N>& names,
                                               std::string_view otherwise = {}) {
  const auto text = read_string(entry, problems);
  if (!text) return std::nullopt;
  std::string known;
  for (std::size_t i = 0; i < N; ++i) {
    if (names[i] == *text) return i;
    known += (i == 0 ? "" : i + 1 == N && otherwise.empty() ? " or " : ", ") + std::string(names[i]);
  }
  if (!otherwise.empty()) known += " or " + std::string(otherwise);
  problems.add(entry.line, entry.key, "expected " + known + ", got " + quote_value(*text));
  return std::nullopt;
}

std::optional<ClipboardAction> read_clipboard_action(const Entry& entry, ProblemList& problems,
                                                     std::string_view otherwise = {}) {
  const auto index = read_session_choice(entry, problems, clipboard_action_names, otherwise);
  if (!index) return std::nullopt;
  return static_cast<ClipboardAction>(*index);  // the names are in the enum's order
}

std::optional<std::uint64_t> read_clipboard_limit(const Entry& entry, ProblemList& problems) {
  const auto text = read_string(entry, problems);
  if (!text) return std::nullopt;
  std::string error;
  const auto size = parse_size(*text, error);
  if (!size) {
    problems.add(entry.line, entry.key, error + ", got " + quote_value(*text));
    return std::nullopt;
  }
  if (*size == 0 || *size > max_clipboard_limit) {
    problems.add(entry.line, entry.key,
                 "must be greater than 0 and at most " + format_size(max_clipboard_limit) +
                     " (the largest clipboard message the proxy follows), got " + quote_value(*text));
    return std::nullopt;
  }
  return size;
}

// `clipboard:` as the shorthand (both directions) or a map. False when
// anything in it was invalid.
bool read_clipboard(const Entry& entry, SessionPolicyConfig& session, ProblemList& problems) {
  if (entry.node.IsScalar()) {
    const auto action = read_clipboard_action(entry, problems, "a mapping of viewer_to_server, server_to_viewer, max_bytes");
    if (!action) return false;
    session.viewer_to_server.action = *action;
    session.server_to_viewer.action = *action;
    return true;
  }
  if (!entry.node.IsMap() && !entry.node.IsNull()) {
    problems.add(entry.line, entry.key,
                 "expected allow, deny, log or a mapping of viewer_to_server, server_to_viewer, max_bytes, got " +
                     describe_type(entry.node));
    return false;
  }
  const std::size_t before = problems.size();
  MapReader map(entry, problems);
  if (!map.ok()) return false;
  if (auto item = map.take("viewer_to_server"))
    if (auto action = read_clipboard_action(*item, problems)) session.viewer_to_server.action = *action;
  if (auto item = map.take("server_to_viewer"))
    if (auto action = read_clipboard_action(*item, problems)) session.server_to_viewer.action = *action;
  if (auto item = map.take("max_bytes"))
    if (auto limit = read_clipboard_limit(*item, problems)) session.clipboard_max_bytes = *limit;
  map.finish();
  return problems.size() == before;
}

// What was given, for the checks between keys (each set only when valid).
struct SessionKeys {
  bool clipboard_ok = true;                // absent or valid
  bool clipboard_content_ok = true;
  bool clipboard_dir_ok = true;
  bool idle_timeout_ok = true;
  std::optional<Entry> clipboard_content;  // said `file`
  std::optional<Entry> clipboard_dir;
  std::optional<Entry> idle_warning;
};

void check_session_keys(const SessionKeys& keys, const SessionPolicyConfig& session, const MapReader& map,
                        ProblemList& problems) {
  if (keys.clipboard_content) {
    const Entry& content = *keys.clipboard_content;
    const bool logs = session.viewer_to_server.action == ClipboardAction::log ||
                      session.server_to_viewer.action == ClipboardAction::log;
    if (keys.clipboard_ok && !logs)
      problems.add(content.line, content.key,
                   "clipboard_content: file needs clipboard: log in some direction (only logged texts are kept)");
    if (!keys.clipboard_dir && keys.clipboard_dir_ok)
      problems.add(content.line, map.key_path("clipboard_dir"),
                   "clipboard_dir is required with clipboard_content: file (where the texts are written)");
  } else if (keys.clipboard_dir && keys.clipboard_content_ok) {
    problems.add(keys.clipboard_dir->line, keys.clipboard_dir->key,
                 "clipboard_dir is used only with clipboard_content: file: say so, or remove clipboard_dir "
                 "(clipboard texts are not kept)");
  }
  if (keys.idle_warning) {
    const Entry& warning = *keys.idle_warning;
    if (!session.input_idle_timeout) {
      if (keys.idle_timeout_ok)
        problems.add(warning.line, warning.key,
                     "idle_warning needs input_idle_timeout (it fires that long before the idle close)");
    } else if (*session.idle_warning >= *session.input_idle_timeout) {
      problems.add(warning.line, warning.key,
                   "must be shorter than input_idle_timeout (" + format_duration(*session.input_idle_timeout) +
                       "), got " + format_duration(*session.idle_warning));
    }
  }
}

}  // namespace

void load_session_policy(MapReader& listener, const fs::path& base_dir, ListenerConfig& config,
                         ProblemList& problems) {
  SessionPolicyConfig& session = config.session;
  const auto entry = listener.take("session");
  if (!entry) return;
  session.line = entry->line;
  MapReader map(*entry, problems);
  if (!map.ok()) return;

  SessionKeys keys;
  if (auto item = map.take("view_only"))
    if (auto value = read_bool(*item, problems)) session.view_only = *value;
  if (auto item = map.take("clipboard")) keys.clipboard_ok = read_clipboard(*item, session, problems);
  if (auto item = map.take("clipboard_content")) {
    constexpr std::array<std::string_view, 2> names = {"none", "file"};
    const auto index = read_session_choice(*item, problems, names);
    keys.clipboard_content_ok = index.has_value();
    if (index) {
      session.clipboard_content = *index == 0 ? ClipboardContent::none : ClipboardContent::file;
      if (session.clipboard_content == ClipboardContent::file) keys.clipboard_content = *item;
    }
  }
  if (auto item = map.take("clipboard_dir")) {
    const auto text = read_nonempty_string(*item, problems);
    keys.clipboard_dir_ok = text.has_value();
    if (text) {
      session.clipboard_dir = resolve_config_path(*text, base_dir);
      keys.clipboard_dir = *item;
    }
  }
  if (auto item = map.take("input_idle_timeout")) {
    session.input_idle_timeout = read_whole_seconds(*item, problems);
    keys.idle_timeout_ok = session.input_idle_timeout.has_value();
  }
  if (auto item = map.take("idle_warning")) {
    session.idle_warning = read_whole_seconds(*item, problems);
    if (session.idle_warning) keys.idle_warning = *item;
  }
  if (auto item = map.take("max_duration"))
    if (auto value = read_whole_seconds(*item, problems)) session.max_duration = *value;
  if (auto item = map.take("screen_change_quiet")) {
    if (auto value = read_duration(*item, problems)) {
      if (*value < min_screen_change_quiet)
        problems.add(item->line, item->key,
                     "must be at least " + format_duration(min_screen_change_quiet) + ", got " +
                         quote_value(item->node.Scalar()));
      else
        session.screen_change_quiet = *value;
    }
  }
  if (auto item = map.take("unknown_encodings")) {
    constexpr std::array<std::string_view, 2> names = {"strip", "opaque"};
    if (auto index = read_session_choice(*item, problems, names))
      session.unknown_encodings = *index == 0 ? UnknownEncodings::strip : UnknownEncodings::opaque;
  }
  if (auto item = map.take("track"))
    if (auto value = read_bool(*item, problems)) session.track = *value;
  check_session_keys(keys, session, map, problems);
  map.finish();
}

bool needs_message_tracking(const SessionPolicyConfig& session) {
  return session.view_only || session.viewer_to_server.action != ClipboardAction::allow ||
         session.server_to_viewer.action != ClipboardAction::allow || session.clipboard_max_bytes.has_value() ||
         session.input_idle_timeout.has_value() || session.track;
}

bool has_tracking_hooks(const Config& config) {
  return !config.hooks_for(EventKind::resize).empty() || !config.hooks_for(EventKind::screen_change).empty() ||
         !config.hooks_for(EventKind::desktop_name).empty();
}

bool needs_message_tracking(const Config& config, const ListenerConfig& listener) {
  return needs_message_tracking(listener.session) || has_tracking_hooks(config);
}

}  // namespace vhm::conf
