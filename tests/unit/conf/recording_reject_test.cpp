// The recording: section on invalid input: each problem with its file, line,
// key and message.
#include <catch2/catch.hpp>

#include "conf/config_loader.hpp"
#include "conf_test_support.hpp"

using namespace vhm::conf;
using test::contains;
using test::describe;
using test::line_of;
using test::TempDir;

namespace {

// Requires exactly one problem, at `key`, on the line containing `needle`,
// whose message contains `message`.
void require_recording_problem(const std::string& yaml, std::string_view key, std::string_view needle,
                               std::string_view message) {
  TempDir dir;
  const auto result = load_config_string(yaml, "rec.yaml", dir.path());
  INFO("yaml:\n" << yaml << "\nproblems:\n" << describe(result));
  CHECK_FALSE(result.ok());
  REQUIRE(result.problems.size() == 1);
  const ConfigProblem& problem = result.problems[0];
  CHECK(problem.file == "rec.yaml");
  CHECK(problem.key == key);
  CHECK(problem.line == line_of(yaml, needle));
  CHECK(contains(problem.message, message));
}

// A top-level section (off, so that no dir is needed) with one more line.
std::string section_with(const std::string& line) {
  return "recording:\n  enabled: false\n  " + line + "\n" + std::string(test::listener);
}

// The one listener with a recording: map holding one more line.
std::string listener_with(const std::string& line) {
  return std::string(test::listener) + "    recording:\n      enabled: false\n      " + line + "\n";
}

}  // namespace

TEST_CASE("recording rejects: unknown keys, listing the known ones") {
  const std::string known =
      "(known: enabled, dir, name, mode, include_input, on_error, max_age, max_total_size, compression, zstd_level, "
      "queue_size)";
  require_recording_problem(section_with("directory: /x"), "recording.directory", "directory",
                            "unknown key \"directory\" " + known);
  require_recording_problem(listener_with("dri: /x"), "listeners[0].recording.dri", "dri:",
                            "unknown key \"dri\" " + known);
}

TEST_CASE("recording rejects: a section or listener value of the wrong shape") {
  require_recording_problem("recording: [a]\n" + std::string(test::listener), "recording", "recording:",
                            "expected a mapping (key: value lines), got a list");
  require_recording_problem(std::string(test::listener) + "    recording: yes\n", "listeners[0].recording",
                            "recording: yes", "expected true, false or a mapping of recording settings, got \"yes\"");
  require_recording_problem(std::string(test::listener) + "    recording: \"\"\n", "listeners[0].recording",
                            "recording:", "expected true, false or a mapping of recording settings, got \"\"");
  require_recording_problem("recording:\n  enabled: maybe\n  dir: /x\n" + std::string(test::listener), "recording.enabled", "maybe",
                            "expected true or false, got \"maybe\"");
}

TEST_CASE("recording rejects: settings that nothing enables must say enabled") {
  require_recording_problem("recording:\n  dir: /srv/rec\n" + std::string(test::listener), "recording", "recording:",
                            "say enabled: true to record every listener's sessions, or enabled: false");
  require_recording_problem(std::string(test::listener) + "    recording:\n      dir: /srv/rec\n",
                            "listeners[0].recording", "recording:",
                            "recording is not enabled in the top-level recording section: say enabled: true here");
  require_recording_problem("recording:\n  enabled: false\n" + std::string(test::listener) +
                                "    recording: {include_input: true}\n",
                            "listeners[0].recording", "include_input", "say enabled: true here");
}

TEST_CASE("recording rejects: enabled without a dir anywhere, at each listener") {
  require_recording_problem("recording:\n  enabled: true\n" + std::string(test::listener), "listeners[0].recording.dir",
                            "- listen", "dir is required when recording is enabled (enabled at line 1); set it here");
  require_recording_problem(std::string(test::listener) + "    recording: true\n", "listeners[0].recording.dir",
                            "recording: true", "dir is required when recording is enabled (enabled at line 4)");
  require_recording_problem(std::string(test::listener) + "    recording: {enabled: true, zstd_level: 4}\n",
                            "listeners[0].recording.dir", "recording:", "dir is required when recording is enabled");

  TempDir dir;
  const std::string yaml = "recording: {enabled: true}\n" + std::string(test::listener) +
                           "  - listen: \"127.0.0.1:5901\"\n    target: \":2\"\n"
                           "  - listen: \"127.0.0.1:5902\"\n    target: \":3\"\n    recording: {dir: rec}\n";
  const auto result = load_config_string(yaml, "rec.yaml", dir.path());
  INFO(describe(result));
  REQUIRE(result.problems.size() == 2);
  CHECK(result.problems[0].key == "listeners[0].recording.dir");
  CHECK(result.problems[0].line == 3);
  CHECK(result.problems[1].key == "listeners[1].recording.dir");
  CHECK(result.problems[1].line == 5);
}

TEST_CASE("recording rejects: dir empty or missing") {
  require_recording_problem(section_with("dir: \"\""), "recording.dir", "dir:", "must not be empty");
  require_recording_problem(section_with("dir:"), "recording.dir", "dir:", "expected a value, got nothing");
  require_recording_problem(listener_with("dir: [a]"), "listeners[0].recording.dir", "dir:",
                            "expected a value, got a list");
}

TEST_CASE("recording rejects: file name templates that could escape dir or collide") {
  require_recording_problem(section_with("name: \"\""), "recording.name", "name:", "must not be empty");
  require_recording_problem(section_with("name: /tmp/{session_id}"), "recording.name", "name:",
                            "must be relative to dir, got \"/tmp/{session_id}\"");
  require_recording_problem(section_with("name: \"{user}/{session_id}/\""), "recording.name", "name:",
                            "must name a file, not end in '/'");
  require_recording_problem(section_with("name: \"{user}//{session_id}\""), "recording.name", "name:",
                            "must not contain an empty path segment ('//')");
  require_recording_problem(section_with("name: \"../{session_id}\""), "recording.name", "name:",
                            "must not contain a '.' or '..' path segment (files stay below dir)");
  require_recording_problem(section_with("name: \"a/../../{session_id}\""), "recording.name", "name:",
                            "'..' path segment");
  require_recording_problem(section_with("name: \"a/./{session_id}\""), "recording.name", "name:",
                            "'..' path segment");
  require_recording_problem(section_with("name: \"{session_id}/..\""), "recording.name", "name:", "'..' path segment");
  require_recording_problem(section_with("name: \"{timestamp}_{client_ip}.rec\""), "recording.name", "name:",
                            "must contain {session_id}, so that two sessions never write the same file");
  require_recording_problem(section_with("name: \"{session_id}_{duration}\""), "recording.name", "name:",
                            "{duration} cannot be used in a recording name, which is chosen when the session starts (usable: session_id, timestamp, "
                            "client_ip, client_port, listen, target_host, target_port, display, user, rfb_version, "
                            "security_type, desktop_name, width, height)");
  require_recording_problem(section_with("name: \"{session_id}_{recording_path}\""), "recording.name", "name:",
                            "{recording_path} cannot be used in a recording name");
  require_recording_problem(section_with("name: \"{session_id}_{colour}_{colour}\""), "recording.name", "name:",
                            "unknown placeholder {colour} (usable: session_id,");
  require_recording_problem(listener_with("name: \"/{session_id}\""), "listeners[0].recording.name", "name:",
                            "must be relative to dir");
  // record/naming.hpp would read any {...} as a placeholder.
  for (const char* name : {"{session_id}-{Literal}", "{session_id}-{ awk }", "{session_id}}", "{{session_id}",
                           "{session_id}-{", "{}{session_id}"})
    require_recording_problem(section_with("name: \"" + std::string(name) + "\""), "recording.name", "name:",
                              "'{' and '}' may only enclose a placeholder such as {session_id} (character");
  require_recording_problem(section_with("name: \"{session_id}\\0x\""), "recording.name", "name:",
                            "must not contain a NUL byte");
}

TEST_CASE("recording rejects: a name template reports the shape and each placeholder problem") {
  TempDir dir;
  const auto result =
      load_config_string(section_with("name: \"/{event}/{colour}\""), "rec.yaml", dir.path());
  INFO(describe(result));
  REQUIRE(result.problems.size() == 4);
  CHECK(contains(result.problems[0].message, "must be relative to dir"));
  CHECK(contains(result.problems[1].message, "{event} cannot be used in a recording name"));
  CHECK(contains(result.problems[2].message, "unknown placeholder {colour}"));
  CHECK(contains(result.problems[3].message, "must contain {session_id}"));
}

TEST_CASE("recording rejects: file modes that are not octal or not safe") {
  require_recording_problem(section_with("mode: 0680"), "recording.mode", "mode:",
                            "expected an octal file mode like 0600 or 0640, got \"0680\"");
  require_recording_problem(section_with("mode: 384"), "recording.mode", "mode:", "expected an octal file mode");
  require_recording_problem(section_with("mode: rw-------"), "recording.mode", "mode:", "expected an octal file mode");
  require_recording_problem(section_with("mode: \"\""), "recording.mode", "mode:", "expected an octal file mode");
  require_recording_problem(section_with("mode: 0o"), "recording.mode", "mode:", "expected an octal file mode");
  require_recording_problem(section_with("mode: 0x180"), "recording.mode", "mode:", "expected an octal file mode");
  require_recording_problem(section_with("mode: 06000000000000"), "recording.mode", "mode:",
                            "expected an octal file mode");
  require_recording_problem(section_with("mode: 04600"), "recording.mode", "mode:",
                            "must have only permission bits (at most 0777; no setuid, setgid or sticky bit), got "
                            "\"04600\"");
  require_recording_problem(section_with("mode: 0400"), "recording.mode", "mode:",
                            "must let the owner read and write (0600)");
  require_recording_problem(section_with("mode: 0244"), "recording.mode", "mode:",
                            "must let the owner read and write (0600)");
  require_recording_problem(section_with("mode: 0660"), "recording.mode", "mode:",
                            "must not let group or others write: a recording is a record of what happened, got \"0660\"");
  require_recording_problem(section_with("mode: 0602"), "recording.mode", "mode:",
                            "must not let group or others write");
  require_recording_problem(section_with("mode: 0700"), "recording.mode", "mode:", "must not be executable, got \"0700\"");
  require_recording_problem(listener_with("mode: 0641"), "listeners[0].recording.mode", "mode:",
                            "must not be executable");
}

TEST_CASE("recording rejects: bad booleans and choices") {
  require_recording_problem(section_with("include_input: sometimes"), "recording.include_input", "include_input",
                            "expected true or false, got \"sometimes\"");
  require_recording_problem(section_with("on_error: stop"), "recording.on_error", "on_error",
                            "expected continue or close_session, got \"stop\"");
  require_recording_problem(section_with("on_error: continue_session"), "recording.on_error", "on_error",
                            "expected continue or close_session");
  require_recording_problem(section_with("compression: gzip"), "recording.compression", "compression",
                            "expected none or zstd, got \"gzip\"");
  require_recording_problem(listener_with("compression: [zstd]"), "listeners[0].recording.compression",
                            "compression", "expected a value, got a list");
}

TEST_CASE("recording rejects: zstd_level outside 1..19") {
  require_recording_problem(section_with("zstd_level: 0"), "recording.zstd_level", "zstd_level",
                            "must be at least 1 and at most 19, got \"0\"");
  require_recording_problem(section_with("zstd_level: 20"), "recording.zstd_level", "zstd_level",
                            "must be at least 1 and at most 19, got \"20\"");
  require_recording_problem(section_with("zstd_level: fast"), "recording.zstd_level", "zstd_level",
                            "expected a whole number, got \"fast\"");
}

TEST_CASE("recording rejects: bad durations and sizes") {
  require_recording_problem(section_with("max_age: soon"), "recording.max_age", "max_age",
                            "expected seconds (30, 0.5) or a number with a unit (500ms, 30s, 10m, 1h, 30d), got \"soon\"");
  require_recording_problem(section_with("max_age: 0d"), "recording.max_age", "max_age", "must be greater than 0");
  require_recording_problem(section_with("max_age: 1.5s"), "recording.max_age", "max_age",
                            "must be a whole number of seconds");
  require_recording_problem(section_with("max_total_size: 0"), "recording.max_total_size", "max_total_size",
                            "must be greater than 0, got \"0\"");
  require_recording_problem(section_with("max_total_size: 10 GiB"), "recording.max_total_size", "max_total_size",
                            "expected bytes (1048576) or a whole number with a unit (64K, 8MiB, 1GiB, 500MB, 2TB), "
                            "got \"10 GiB\"");
  require_recording_problem(section_with("max_total_size: 99999999T"), "recording.max_total_size",
                            "max_total_size", "is too large");
  require_recording_problem(section_with("queue_size: 64KB"), "recording.queue_size", "queue_size",
                            "must be at least 64KiB and at most 1GiB, got \"64KB\"");
  require_recording_problem(section_with("queue_size: 2G"), "recording.queue_size", "queue_size",
                            "must be at least 64KiB and at most 1GiB, got \"2G\"");
  require_recording_problem(listener_with("queue_size: 1.5M"), "listeners[0].recording.queue_size", "queue_size",
                            "expected bytes");
}

TEST_CASE("recording rejects: every problem of one map at once") {
  TempDir dir;
  const std::string yaml = std::string(test::listener) +
                           "    recording: {enabled: true, dir: rec, mode: 0777, zstd_level: 0, colour: red}\n";
  const auto result = load_config_string(yaml, "rec.yaml", dir.path());
  INFO(describe(result));
  REQUIRE(result.problems.size() == 3);
  CHECK(result.problems[0].key == "listeners[0].recording.mode");
  CHECK(result.problems[1].key == "listeners[0].recording.zstd_level");
  CHECK(result.problems[2].key == "listeners[0].recording.colour");
}

TEST_CASE("recording rejects: a bad top-level value is reported once, not again at each listener") {
  TempDir dir;
  const std::string yaml = "recording:\n  enabled: true\n  dir: rec\n  name: \"{timestamp}\"\n" +
                           std::string(test::listener) + "  - listen: \"127.0.0.1:5901\"\n    target: \":2\"\n";
  const auto result = load_config_string(yaml, "rec.yaml", dir.path());
  INFO(describe(result));
  REQUIRE(result.problems.size() == 1);
  CHECK(result.problems[0].key == "recording.name");
}
