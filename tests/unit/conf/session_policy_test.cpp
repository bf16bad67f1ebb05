// A listener's session: section (docs/session-policy.md): defaults, every
// key, the clipboard shorthand, when the message tracker is needed, and each
// rejection with its file, line, key and message.
#include <catch2/catch.hpp>

#include "conf/config_loader.hpp"
#include "conf/load_session_policy.hpp"
#include "conf_test_support.hpp"

using namespace vhm::conf;
using namespace std::chrono_literals;
using test::contains;
using test::describe;
using test::line_of;
using test::require_ok;
using test::TempDir;

namespace {

// The one listener of test::listener with a session: map of these lines
// (each indented under it).
std::string session_yaml(const std::string& lines) {
  std::string yaml = std::string(test::listener) + "    session:\n";
  std::size_t start = 0;
  while (start < lines.size()) {
    std::size_t end = lines.find('\n', start);
    if (end == std::string::npos) end = lines.size();
    yaml += "      " + lines.substr(start, end - start) + "\n";
    start = end + 1;
  }
  return yaml;
}

SessionPolicyConfig load_session(const std::string& yaml, const TempDir& dir) {
  INFO("yaml:\n" << yaml);
  const Config config = require_ok(load_config_string(yaml, "session.yaml", dir.path()));
  REQUIRE(config.listeners.size() == 1);
  return config.listeners[0].session;
}

void check_default_session(const SessionPolicyConfig& session) {
  CHECK_FALSE(session.view_only);
  CHECK(session.viewer_to_server.action == ClipboardAction::allow);
  CHECK(session.server_to_viewer.action == ClipboardAction::allow);
  CHECK_FALSE(session.clipboard_max_bytes);
  CHECK(session.clipboard_content == ClipboardContent::none);
  CHECK(session.clipboard_dir.empty());
  CHECK_FALSE(session.input_idle_timeout);
  CHECK_FALSE(session.idle_warning);
  CHECK_FALSE(session.max_duration);
  CHECK(session.screen_change_quiet == 5s);
  CHECK(session.unknown_encodings == UnknownEncodings::strip);
  CHECK_FALSE(session.track);
  CHECK_FALSE(needs_message_tracking(session));
}

// Requires exactly one problem, at `key` (below listeners[0].session), on
// the line containing `needle`, whose message contains `message`.
void require_session_problem(const std::string& yaml, std::string_view key, std::string_view needle,
                             std::string_view message) {
  TempDir dir;
  const auto result = load_config_string(yaml, "session.yaml", dir.path());
  INFO("yaml:\n" << yaml << "\nproblems:\n" << describe(result));
  CHECK_FALSE(result.ok());
  REQUIRE(result.problems.size() == 1);
  const ConfigProblem& problem = result.problems[0];
  CHECK(problem.file == "session.yaml");
  CHECK(problem.key == (key.empty() ? std::string("listeners[0].session")
                                    : "listeners[0].session." + std::string(key)));
  CHECK(problem.line == line_of(yaml, needle));
  CHECK(contains(problem.message, message));
}

}  // namespace

TEST_CASE("session policy: every default when a listener has no session section") {
  TempDir dir;
  const SessionPolicyConfig session = load_session(std::string(test::listener), dir);
  check_default_session(session);
  CHECK(session.line == 0);
}

TEST_CASE("session policy: an empty section changes nothing but its line") {
  TempDir dir;
  const std::string yaml = std::string(test::listener) + "    session:\n";
  const SessionPolicyConfig session = load_session(yaml, dir);
  check_default_session(session);
  CHECK(session.line == 4);
}

TEST_CASE("session policy: every key, the clipboard as a map, a relative clipboard_dir") {
  TempDir dir;
  const std::string yaml = session_yaml(R"(view_only: true
clipboard:
  viewer_to_server: log
  server_to_viewer: deny
  max_bytes: 1MiB
clipboard_content: file
clipboard_dir: clipboard/texts
input_idle_timeout: 15m
idle_warning: 1m
max_duration: 8h
screen_change_quiet: 250ms
unknown_encodings: opaque
track: true)");
  const SessionPolicyConfig session = load_session(yaml, dir);
  CHECK(session.view_only);
  CHECK(session.viewer_to_server.action == ClipboardAction::log);
  CHECK(session.server_to_viewer.action == ClipboardAction::deny);
  CHECK(session.clipboard_max_bytes == std::optional<std::uint64_t>(1u << 20));
  CHECK(session.clipboard_content == ClipboardContent::file);
  CHECK(session.clipboard_dir == dir.path() / "clipboard/texts");
  CHECK(session.input_idle_timeout == std::optional<std::chrono::seconds>(15min));
  CHECK(session.idle_warning == std::optional<std::chrono::seconds>(1min));
  CHECK(session.max_duration == std::optional<std::chrono::seconds>(8h));
  CHECK(session.screen_change_quiet == 250ms);
  CHECK(session.unknown_encodings == UnknownEncodings::opaque);
  CHECK(session.track);
  CHECK(session.line == 4);
}

TEST_CASE("session policy: the clipboard shorthand sets both directions, a map only those it names") {
  TempDir dir;
  for (const auto& [text, action] : {std::pair{"allow", ClipboardAction::allow}, std::pair{"deny", ClipboardAction::deny},
                                     std::pair{"log", ClipboardAction::log}}) {
    const SessionPolicyConfig session = load_session(session_yaml(std::string("clipboard: ") + text), dir);
    CHECK(session.viewer_to_server.action == action);
    CHECK(session.server_to_viewer.action == action);
    CHECK_FALSE(session.clipboard_max_bytes);
  }
  const SessionPolicyConfig one_way = load_session(session_yaml("clipboard:\n  server_to_viewer: deny"), dir);
  CHECK(one_way.viewer_to_server.action == ClipboardAction::allow);
  CHECK(one_way.server_to_viewer.action == ClipboardAction::deny);
  const SessionPolicyConfig limited = load_session(session_yaml("clipboard: {max_bytes: 64MiB}"), dir);
  CHECK(limited.viewer_to_server.action == ClipboardAction::allow);
  CHECK(limited.clipboard_max_bytes == std::optional<std::uint64_t>(64u << 20));
  const SessionPolicyConfig absolute =
      load_session(session_yaml("clipboard: log\nclipboard_content: file\nclipboard_dir: /srv/clip"), dir);
  CHECK(absolute.clipboard_dir == "/srv/clip");
  CHECK(load_session(session_yaml("clipboard: log\nclipboard_content: none"), dir).clipboard_content ==
        ClipboardContent::none);
}

TEST_CASE("session policy: durations in their units, screen_change_quiet down to 100ms") {
  TempDir dir;
  const SessionPolicyConfig session =
      load_session(session_yaml("input_idle_timeout: 90\nidle_warning: 30s\nmax_duration: 1d\nscreen_change_quiet: 100ms"), dir);
  CHECK(session.input_idle_timeout == std::optional<std::chrono::seconds>(90s));
  CHECK(session.idle_warning == std::optional<std::chrono::seconds>(30s));
  CHECK(session.max_duration == std::optional<std::chrono::seconds>(24h));
  CHECK(session.screen_change_quiet == 100ms);
  CHECK(load_session(session_yaml("screen_change_quiet: 1.5"), dir).screen_change_quiet == 1500ms);
  CHECK(load_session(session_yaml("input_idle_timeout: 2m\nidle_warning: 119s"), dir).idle_warning ==
        std::optional<std::chrono::seconds>(119s));
}

TEST_CASE("session policy: each listener has its own section") {
  TempDir dir;
  const std::string yaml = std::string(test::listener) + R"(    session: {view_only: true}
  - listen: "127.0.0.1:5901"
    target: ":2"
)";
  INFO(yaml);
  const Config config = require_ok(load_config_string(yaml, "session.yaml", dir.path()));
  REQUIRE(config.listeners.size() == 2);
  CHECK(config.listeners[0].session.view_only);
  check_default_session(config.listeners[1].session);
}

TEST_CASE("session policy: which settings need the message tracker") {
  TempDir dir;
  for (const char* line : {"view_only: true", "clipboard: deny", "clipboard: log", "clipboard: {server_to_viewer: log}",
                           "clipboard: {max_bytes: 4KiB}", "input_idle_timeout: 10m", "track: true"}) {
    INFO(line);
    CHECK(needs_message_tracking(load_session(session_yaml(line), dir)));
  }
  for (const char* line : {"view_only: false", "clipboard: allow", "max_duration: 8h", "screen_change_quiet: 1s",
                           "unknown_encodings: opaque", "track: false"}) {
    INFO(line);
    CHECK_FALSE(needs_message_tracking(load_session(session_yaml(line), dir)));
  }
}

TEST_CASE("session policy: hooks on resize, screen_change or desktop_name turn tracking on everywhere") {
  TempDir dir;
  const std::string plain = std::string(test::listener) + "events:\n  disconnect:\n    - name: audit\n      action: log\n"
                                                          "      path: audit.jsonl\n";
  const Config without = require_ok(load_config_string(plain, "session.yaml", dir.path()));
  CHECK_FALSE(has_tracking_hooks(without));
  CHECK_FALSE(needs_message_tracking(without, without.listeners[0]));
  for (const char* event : {"resize", "screen_change", "desktop_name"}) {
    const std::string yaml = std::string(test::listener) + "events:\n  " + event +
                             ":\n    - name: audit\n      action: log\n      path: audit.jsonl\n";
    INFO(yaml);
    const Config config = require_ok(load_config_string(yaml, "session.yaml", dir.path()));
    CHECK(has_tracking_hooks(config));
    CHECK(needs_message_tracking(config, config.listeners[0]));
    CHECK_FALSE(needs_message_tracking(config.listeners[0].session));
  }
}

TEST_CASE("session policy rejects: unknown keys, listing the known ones") {
  require_session_problem(session_yaml("viewonly: true"), "viewonly", "viewonly",
                          "unknown key \"viewonly\" (known: view_only, clipboard, clipboard_content, clipboard_dir, "
                          "input_idle_timeout, idle_warning, max_duration, screen_change_quiet, unknown_encodings, "
                          "track)");
  require_session_problem(session_yaml("clipboard:\n  to_server: log"), "clipboard.to_server", "to_server",
                          "unknown key \"to_server\" (known: viewer_to_server, server_to_viewer, max_bytes)");
}

TEST_CASE("session policy rejects: a section or value of the wrong shape") {
  require_session_problem(std::string(test::listener) + "    session: [view_only]\n", "", "session:",
                          "expected a mapping (key: value lines), got a list");
  require_session_problem(std::string(test::listener) + "    session: true\n", "", "session:",
                          "expected a mapping (key: value lines), got \"true\"");
  require_session_problem(session_yaml("view_only: maybe"), "view_only", "maybe", "expected true or false, got \"maybe\"");
  require_session_problem(session_yaml("track: [true]"), "track", "track", "expected a value, got a list");
  require_session_problem(session_yaml("clipboard: copy"), "clipboard", "copy",
                          "expected allow, deny, log or a mapping of viewer_to_server, server_to_viewer, max_bytes, "
                          "got \"copy\"");
  require_session_problem(session_yaml("clipboard: [log]"), "clipboard", "clipboard",
                          "expected allow, deny, log or a mapping of viewer_to_server, server_to_viewer, max_bytes, "
                          "got a list");
  require_session_problem(session_yaml("clipboard:\n  viewer_to_server: yes"), "clipboard.viewer_to_server", "yes",
                          "expected allow, deny or log, got \"yes\"");
  require_session_problem(session_yaml("clipboard_content: text"), "clipboard_content", "text",
                          "expected none or file, got \"text\"");
  require_session_problem(session_yaml("unknown_encodings: drop"), "unknown_encodings", "drop",
                          "expected strip or opaque, got \"drop\"");
  require_session_problem(session_yaml("clipboard_dir: \"\""), "clipboard_dir", "clipboard_dir", "must not be empty");
}

TEST_CASE("session policy rejects: clipboard max_bytes outside 1 byte..64MiB") {
  require_session_problem(session_yaml("clipboard: {max_bytes: 0}"), "clipboard.max_bytes", "max_bytes",
                          "must be greater than 0 and at most 64MiB");
  require_session_problem(session_yaml("clipboard: {max_bytes: 65MiB}"), "clipboard.max_bytes", "max_bytes",
                          "must be greater than 0 and at most 64MiB (the largest clipboard message the proxy follows), "
                          "got \"65MiB\"");
  require_session_problem(session_yaml("clipboard: {max_bytes: lots}"), "clipboard.max_bytes", "max_bytes", "got \"lots\"");
}

TEST_CASE("session policy rejects: clipboard_content: file needs a log direction and a dir") {
  require_session_problem(session_yaml("clipboard_content: file\nclipboard_dir: /srv/clip"), "clipboard_content",
                          "clipboard_content", "clipboard_content: file needs clipboard: log in some direction");
  require_session_problem(session_yaml("clipboard: deny\nclipboard_content: file\nclipboard_dir: /srv/clip"),
                          "clipboard_content", "clipboard_content", "needs clipboard: log in some direction");
  require_session_problem(session_yaml("clipboard: {viewer_to_server: log}\nclipboard_content: file"), "clipboard_dir",
                          "clipboard_content", "clipboard_dir is required with clipboard_content: file");
  require_session_problem(session_yaml("clipboard: log\nclipboard_dir: /srv/clip"), "clipboard_dir", "clipboard_dir",
                          "clipboard_dir is used only with clipboard_content: file");
  require_session_problem(session_yaml("clipboard: log\nclipboard_content: none\nclipboard_dir: /srv/clip"),
                          "clipboard_dir", "clipboard_dir", "clipboard_dir is used only with clipboard_content: file");
}

TEST_CASE("session policy rejects: both clipboard_content problems at once") {
  TempDir dir;
  const auto result = load_config_string(session_yaml("clipboard_content: file"), "session.yaml", dir.path());
  INFO(describe(result));
  REQUIRE(result.problems.size() == 2);
  CHECK(test::problem_for(result, "listeners[0].session.clipboard_content"));
  CHECK(test::problem_for(result, "listeners[0].session.clipboard_dir"));
}

TEST_CASE("session policy rejects: one problem for one mistake across keys") {
  // The invalid key is reported; the checks that would compare it are not.
  require_session_problem(session_yaml("clipboard: copy\nclipboard_content: file\nclipboard_dir: /srv/clip"), "clipboard",
                          "copy", "expected allow, deny, log");
  require_session_problem(session_yaml("clipboard: log\nclipboard_content: file\nclipboard_dir: \"\""), "clipboard_dir",
                          "clipboard_dir", "must not be empty");
  require_session_problem(session_yaml("clipboard_content: files\nclipboard_dir: /srv/clip"), "clipboard_content",
                          "files", "expected none or file");
  require_session_problem(session_yaml("input_idle_timeout: soon\nidle_warning: 1m"), "input_idle_timeout", "soon",
                          "expected seconds");
}

TEST_CASE("session policy rejects: idle_warning without input_idle_timeout, or not shorter") {
  require_session_problem(session_yaml("idle_warning: 1m"), "idle_warning", "idle_warning",
                          "idle_warning needs input_idle_timeout");
  require_session_problem(session_yaml("input_idle_timeout: 15m\nidle_warning: 15m"), "idle_warning", "idle_warning",
                          "must be shorter than input_idle_timeout (15m), got 15m");
  require_session_problem(session_yaml("idle_warning: 1h\ninput_idle_timeout: 30m"), "idle_warning", "idle_warning",
                          "must be shorter than input_idle_timeout (30m), got 1h");
}

TEST_CASE("session policy rejects: zero, negative and fractional durations") {
  require_session_problem(session_yaml("input_idle_timeout: 0"), "input_idle_timeout", "input_idle_timeout",
                          "must be greater than 0");
  require_session_problem(session_yaml("max_duration: 0s"), "max_duration", "max_duration", "must be greater than 0");
  require_session_problem(session_yaml("input_idle_timeout: 10m\nidle_warning: 0m"), "idle_warning", "idle_warning",
                          "must be greater than 0");
  require_session_problem(session_yaml("max_duration: -1h"), "max_duration", "max_duration", "must be greater than 0");
  require_session_problem(session_yaml("input_idle_timeout: 1.5s"), "input_idle_timeout", "input_idle_timeout",
                          "must be a whole number of seconds, got \"1.5s\"");
  require_session_problem(session_yaml("screen_change_quiet: 0"), "screen_change_quiet", "screen_change_quiet",
                          "must be greater than 0");
  require_session_problem(session_yaml("screen_change_quiet: 50ms"), "screen_change_quiet", "screen_change_quiet",
                          "must be at least 100ms, got \"50ms\"");
}

TEST_CASE("session policy rejects: each listener's problems at its own key") {
  TempDir dir;
  const std::string yaml = std::string(test::listener) + R"(  - listen: "127.0.0.1:5901"
    target: ":2"
    session:
      max_duration: forever
)";
  const auto result = load_config_string(yaml, "session.yaml", dir.path());
  INFO(describe(result));
  REQUIRE(result.problems.size() == 1);
  CHECK(result.problems[0].key == "listeners[1].session.max_duration");
  CHECK(result.problems[0].line == line_of(yaml, "forever"));
}
