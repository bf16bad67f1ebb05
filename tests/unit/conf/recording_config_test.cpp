// The recording: section on valid input: defaults, every key, and how a
// listener's own recording: key overrides the top-level section.
#include <catch2/catch.hpp>

#include "conf/config_loader.hpp"
#include "conf_test_support.hpp"

using namespace vhm::conf;
using namespace std::chrono_literals;
using test::line_of;
using test::require_ok;
using test::TempDir;

namespace {

Config load_recording_yaml(const std::string& yaml, const TempDir& dir) {
  INFO("yaml:\n" << yaml);
  return require_ok(load_config_string(yaml, "rec.yaml", dir.path()));
}

void check_default_recording(const RecordingConfig& recording) {
  CHECK_FALSE(recording.enabled);
  CHECK(recording.dir.empty());
  CHECK(recording.name == "{timestamp}_{session_id}_{client_ip}.vhmrec");
  CHECK(recording.mode == 0600);
  CHECK_FALSE(recording.include_input);
  CHECK(recording.on_error == RecordingOnError::continue_session);
  CHECK_FALSE(recording.max_age);
  CHECK_FALSE(recording.max_total_size);
  CHECK(recording.compression == RecordingCompression::none);
  CHECK(recording.zstd_level == 1);
  CHECK(recording.queue_size == 8u << 20);
  CHECK(recording.line == 0);
}

}  // namespace

TEST_CASE("recording config: off with every default when there is no recording section") {
  TempDir dir;
  const Config config = load_recording_yaml(std::string(test::listener), dir);
  check_default_recording(config.recording);
  REQUIRE(config.listeners.size() == 1);
  check_default_recording(config.listeners[0].recording);
}

TEST_CASE("recording config: an empty section changes nothing") {
  TempDir dir;
  const Config config = load_recording_yaml("recording:\n" + std::string(test::listener), dir);
  check_default_recording(config.recording);
  check_default_recording(config.listeners[0].recording);
}

TEST_CASE("recording config: every key of the top-level section, inherited by the listeners") {
  TempDir dir;
  const std::string yaml = std::string(test::listener) + R"(  - listen: "127.0.0.1:5901"
    target: ":2"
recording:
  enabled: true
  dir: recordings
  name: "{user}/{target_host}-{display}/{timestamp}_{session_id}_{client_ip}_{client_port}.rec"
  mode: 0640
  include_input: true
  on_error: close_session
  max_age: 30d
  max_total_size: 10GiB
  compression: zstd
  zstd_level: 19
  queue_size: 64KiB
)";
  const Config config = load_recording_yaml(yaml, dir);
  const RecordingConfig& global = config.recording;
  CHECK(global.enabled);
  CHECK(global.dir == dir.path() / "recordings");
  CHECK(global.name == "{user}/{target_host}-{display}/{timestamp}_{session_id}_{client_ip}_{client_port}.rec");
  CHECK(global.mode == 0640);
  CHECK(global.include_input);
  CHECK(global.on_error == RecordingOnError::close_session);
  CHECK(global.max_age == std::chrono::seconds(30 * 86'400));
  CHECK(global.max_total_size == 10ull << 30);
  CHECK(global.compression == RecordingCompression::zstd);
  CHECK(global.zstd_level == 19);
  CHECK(global.queue_size == 64u * 1024);
  CHECK(global.line == line_of(yaml, "recording:"));
  REQUIRE(config.listeners.size() == 2);
  for (const auto& listener : config.listeners) {
    const RecordingConfig& mine = listener.recording;
    CHECK(mine.enabled);
    CHECK(mine.dir == global.dir);
    CHECK(mine.name == global.name);
    CHECK(mine.mode == global.mode);
    CHECK(mine.include_input);
    CHECK(mine.on_error == global.on_error);
    CHECK(mine.max_age == global.max_age);
    CHECK(mine.max_total_size == global.max_total_size);
    CHECK(mine.compression == global.compression);
    CHECK(mine.zstd_level == global.zstd_level);
    CHECK(mine.queue_size == global.queue_size);
    CHECK(mine.line == global.line);
  }
}

TEST_CASE("recording config: a listener's keys override the section's one by one") {
  TempDir dir;
  const std::string yaml = R"(recording:
  enabled: true
  dir: /srv/recordings
  compression: zstd
  max_age: 7d
listeners:
  - listen: "127.0.0.1:5900"
    target: ":1"
    recording:
      dir: lab
      include_input: true
      zstd_level: 9
  - listen: "127.0.0.1:5901"
    target: ":2"
    recording: false
  - listen: "127.0.0.1:5902"
    target: ":3"
    recording: {enabled: false, mode: "0600"}
  - listen: "127.0.0.1:5903"
    target: ":4"
)";
  const Config config = load_recording_yaml(yaml, dir);
  REQUIRE(config.listeners.size() == 4);
  const RecordingConfig& first = config.listeners[0].recording;
  CHECK(first.enabled);
  CHECK(first.dir == dir.path() / "lab");
  CHECK(first.include_input);
  CHECK(first.zstd_level == 9);
  CHECK(first.compression == RecordingCompression::zstd);  // inherited
  CHECK(first.max_age == std::chrono::seconds(7 * 86'400));
  CHECK(first.line == 1);  // enabled by the section, not by the listener
  CHECK_FALSE(config.listeners[1].recording.enabled);
  CHECK(config.listeners[1].recording.dir == "/srv/recordings");
  CHECK(config.listeners[1].recording.line == line_of(yaml, "recording: false"));
  CHECK_FALSE(config.listeners[2].recording.enabled);
  const RecordingConfig& last = config.listeners[3].recording;
  CHECK(last.enabled);
  CHECK(last.dir == "/srv/recordings");
  CHECK_FALSE(last.include_input);
  CHECK(last.zstd_level == 1);
  // Config::recording is the section as written, untouched by the listeners.
  CHECK(config.recording.dir == "/srv/recordings");
  CHECK_FALSE(config.recording.include_input);
}

TEST_CASE("recording config: recording: true switches one listener on with the section's settings") {
  TempDir dir;
  const std::string yaml = R"(recording:
  enabled: false
  dir: rec
  compression: zstd
listeners:
  - listen: "127.0.0.1:5900"
    target: ":1"
    recording: true
  - listen: "127.0.0.1:5901"
    target: ":2"
  - listen: "127.0.0.1:5902"
    target: ":3"
    recording: {enabled: true, dir: /var/lib/other}
)";
  const Config config = load_recording_yaml(yaml, dir);
  CHECK_FALSE(config.recording.enabled);
  const RecordingConfig& on = config.listeners[0].recording;
  CHECK(on.enabled);
  CHECK(on.dir == dir.path() / "rec");
  CHECK(on.compression == RecordingCompression::zstd);
  CHECK(on.line == line_of(yaml, "recording: true"));
  CHECK_FALSE(config.listeners[1].recording.enabled);
  CHECK(config.listeners[2].recording.enabled);
  CHECK(config.listeners[2].recording.dir == "/var/lib/other");
}

TEST_CASE("recording config: a listener may record on its own without a top-level section") {
  TempDir dir;
  const std::string yaml = R"(listeners:
  - listen: "127.0.0.1:5900"
    target: ":1"
    recording:
      enabled: True
      dir: ./sub/../rec/
)";
  const Config config = load_recording_yaml(yaml, dir);
  check_default_recording(config.recording);
  const RecordingConfig& mine = config.listeners[0].recording;
  CHECK(mine.enabled);
  CHECK(mine.dir.is_absolute());
  CHECK(mine.dir == (dir.path() / "rec/").lexically_normal());
  CHECK(mine.line == line_of(yaml, "recording:"));
}

TEST_CASE("recording config: dir is relative to the config file's directory") {
  TempDir dir;
  dir.write("etc/vhm.yaml", "recording:\n  enabled: true\n  dir: ../var/rec\n" + std::string(test::listener));
  const auto result = load_config_file(dir.path() / "etc/vhm.yaml");
  const Config config = require_ok(result);
  CHECK(config.recording.dir == dir.path() / "var/rec");
  CHECK(config.listeners[0].recording.dir == dir.path() / "var/rec");
}

TEST_CASE("recording config: mode is octal however YAML spells it") {
  TempDir dir;
  const std::vector<std::pair<std::string, mode_t>> cases = {
      {"0600", 0600}, {"\"0600\"", 0600}, {"'0640'", 0640}, {"600", 0600},
      {"0o644", 0644}, {"0604", 0604},    {"00600", 0600},  {"\"644\"", 0644}};
  for (const auto& [text, mode] : cases) {
    const Config config = load_recording_yaml("recording:\n  enabled: false\n  mode: " + text + "\n" +
                                                  std::string(test::listener), dir);
    INFO(text);
    CHECK(config.recording.mode == mode);
  }
}

TEST_CASE("recording config: sizes and durations in every accepted spelling") {
  TempDir dir;
  const Config config = load_recording_yaml(R"(recording:
  enabled: false
  max_total_size: 500000000
  queue_size: 1GiB
  max_age: 36h
)" + std::string(test::listener), dir);
  CHECK(config.recording.max_total_size == 500'000'000u);
  CHECK(config.recording.queue_size == 1u << 30);
  CHECK(config.recording.max_age == 36h);
  const Config other = load_recording_yaml(R"(recording:
  enabled: false
  max_total_size: 2TB
  queue_size: 65536
  max_age: 1.5d
)" + std::string(test::listener), dir);
  CHECK(other.recording.max_total_size == 2'000'000'000'000u);
  CHECK(other.recording.queue_size == 65536u);
  CHECK(other.recording.max_age == 36h);
}

TEST_CASE("recording config: name may use every start-of-session field") {
  TempDir dir;
  const std::string name =
      "{session_id}{timestamp}{client_ip}{client_port}{listen}{target_host}{target_port}{display}{user}"
      "{rfb_version}{security_type}{desktop_name}{width}{height}-x.y_z.rec";
  const Config config =
      load_recording_yaml("recording:\n  enabled: false\n  name: \"" + name + "\"\n" + std::string(test::listener), dir);
  CHECK(config.recording.name == name);
}
