// --listen/--target pairs given with --config (LoadOptions::extra_listeners):
// added to the file's listeners with quick mode's defaults and the file's
// recording section; the "no listeners" message says what to do.
#include <catch2/catch.hpp>

#include "conf/config_loader.hpp"
#include "conf_test_support.hpp"

using namespace vhm::conf;
using test::contains;
using test::describe;
using test::require_ok;
using test::TempDir;

namespace {

constexpr std::string_view guide_like = R"(global:
  log_level: info
  max_concurrent_hooks: 5
events:
  connect:
    - name: log_connect
      action: log
      path: connect.jsonl
)";

LoadOptions with(std::vector<ListenerArgument> extra) {
  LoadOptions options;
  options.extra_listeners = std::move(extra);
  return options;
}

}  // namespace

TEST_CASE("command-line listeners: no listeners anywhere: the message shows a listeners: example and --listen") {
  TempDir dir;
  const auto result = load_config_string(guide_like, "config.yaml", dir.path());
  INFO(describe(result));
  REQUIRE(result.problems.size() == 1);
  CHECK(result.problems[0].to_string() ==
        "config.yaml: listeners: no listeners: nothing to do. Add a listeners: section, e.g.\n"
        "  listeners:\n"
        "    - { listen: \":5900\", target: \"127.0.0.1:5901\" }\n"
        "or give --listen ADDR --target ADDR on the command line.");
  // The example in the message is itself a valid listeners: section.
  const auto fixed = load_config_string(std::string(guide_like) + "listeners:\n    - { listen: \":5900\", target: "
                                                                  "\"127.0.0.1:5901\" }\n",
                                        "config.yaml", dir.path());
  CHECK(require_ok(fixed).listeners.size() == 1);
  // An empty section is reported at its line.
  const auto empty = load_config_string(std::string(guide_like) + "listeners: []\n", "config.yaml", dir.path());
  REQUIRE(empty.problems.size() == 1);
  CHECK(empty.problems[0].line == 9);
  CHECK(contains(empty.problems[0].message, "or give --listen ADDR --target ADDR on the command line."));
}

TEST_CASE("command-line listeners: a file without listeners runs with them, with quick mode's defaults") {
  TempDir dir;
  const auto result =
      load_config_string(guide_like, "config.yaml", dir.path(), with({{"127.0.0.1:5910", ":1"}, {"[::1]:0", "host.example:5902"}}));
  const Config config = require_ok(result);
  REQUIRE(config.listeners.size() == 2);
  const ListenerConfig defaults;
  const ListenerConfig& first = config.listeners[0];
  CHECK(first.listen.host == "127.0.0.1");
  CHECK(first.listen.port == 5910);
  CHECK(first.target.host == "127.0.0.1");
  CHECK(first.target.port == 5901);
  CHECK(first.handshake_timeout == defaults.handshake_timeout);
  CHECK(first.connect_timeout == defaults.connect_timeout);
  CHECK(first.scanner_shield == defaults.scanner_shield);
  CHECK(first.transparent == Transparent::off);
  CHECK(first.vencrypt == defaults.vencrypt);
  CHECK_FALSE(first.recording.enabled);
  CHECK(first.line == 0);
  CHECK(config.listeners[1].listen.host == "::1");
  CHECK(config.listeners[1].target.host == "host.example");
  CHECK(config.listeners[1].target.port == 5902);
  CHECK(config.hooks_for(EventKind::connect).size() == 1);
}

TEST_CASE("command-line listeners: added after the file's own; an empty section is fine too") {
  TempDir dir;
  const std::string yaml = std::string(guide_like) + "listeners:\n  - listen: \"127.0.0.1:5900\"\n    target: \":2\"\n";
  const Config config = require_ok(load_config_string(yaml, "config.yaml", dir.path(), with({{":5911", ":3"}})));
  REQUIRE(config.listeners.size() == 2);
  CHECK(config.listeners[0].listen.port == 5900);
  CHECK(config.listeners[0].target.port == 5902);
  CHECK(config.listeners[1].listen.host.empty());
  CHECK(config.listeners[1].listen.port == 5911);
  CHECK(config.listeners[1].target.port == 5903);

  const Config empty = require_ok(
      load_config_string(std::string(guide_like) + "listeners:\n", "config.yaml", dir.path(), with({{":5911", ":3"}})));
  CHECK(empty.listeners.size() == 1);
}

TEST_CASE("command-line listeners: the file's top-level recording applies to them") {
  TempDir dir;
  const std::string yaml = std::string(guide_like) + "recording:\n  enabled: true\n  dir: rec\n  include_input: true\n";
  const Config config = require_ok(load_config_string(yaml, "config.yaml", dir.path(), with({{":0", ":1"}})));
  REQUIRE(config.listeners.size() == 1);
  CHECK(config.listeners[0].recording.enabled);
  CHECK(config.listeners[0].recording.include_input);
  CHECK(config.listeners[0].recording.dir == (dir.path() / "rec").lexically_normal());

  const std::string no_dir = std::string(guide_like) + "recording:\n  enabled: true\n";
  const auto result = load_config_string(no_dir, "config.yaml", dir.path(), with({{":0", ":1"}}));
  INFO(describe(result));
  REQUIRE(result.problems.size() == 1);
  CHECK(result.problems[0].file == "command line");
  CHECK(result.problems[0].key == "--listen :0");
  CHECK(contains(result.problems[0].message, "the top-level recording section (line 9) enables recording without a dir"));
}

TEST_CASE("command-line listeners: bad addresses and overlaps are command-line problems") {
  TempDir dir;
  const auto bad = load_config_string(guide_like, "config.yaml", dir.path(), with({{"nowhere", "127.0.0.1:99999"}}));
  INFO(describe(bad));
  REQUIRE(bad.problems.size() == 2);
  CHECK(bad.problems[0].file == "command line");
  CHECK(bad.problems[0].key == "--listen nowhere");
  CHECK(bad.problems[1].key == "--target 127.0.0.1:99999");
  CHECK_FALSE(bad.ok());

  const std::string yaml = std::string(guide_like) + "listeners:\n  - listen: \"127.0.0.1:5900\"\n    target: \":2\"\n";
  const auto overlap = load_config_string(yaml, "config.yaml", dir.path(), with({{":5900", ":1"}}));
  INFO(describe(overlap));
  REQUIRE(overlap.problems.size() == 1);
  CHECK(overlap.problems[0].to_string() ==
        "command line: --listen :5900: listen address :5900 overlaps 127.0.0.1:5900 of listeners[0] (line 10): both "
        "cannot be bound");

  const auto twice = load_config_string(guide_like, "config.yaml", dir.path(), with({{":5900", ":1"}, {":5900", ":2"}}));
  REQUIRE(twice.problems.size() == 1);
  CHECK(contains(twice.problems[0].message, "overlaps :5900 of --listen :5900"));
}

TEST_CASE("command-line listeners: readers that need no listeners (ctl) load such a file") {
  TempDir dir;
  LoadOptions options;
  options.require_listeners = false;
  const auto path = dir.write("config.yaml", std::string(guide_like) + "control:\n  socket: ctl.sock\n");
  const Config config = require_ok(load_config_file(path, options));
  CHECK(config.listeners.empty());
  CHECK(config.control_socket == dir.path() / "ctl.sock");
}

TEST_CASE("command-line listeners: listener_from_argument reports like quick mode") {
  std::vector<ConfigProblem> problems;
  const auto listener = listener_from_argument({"127.0.0.1:5910", ":1"}, problems);
  REQUIRE(listener);
  CHECK(problems.empty());
  CHECK(listener->target.port == 5901);
  CHECK_FALSE(listener_from_argument({"127.0.0.1:5910", ""}, problems));
  REQUIRE(problems.size() == 1);
  CHECK(problems[0].to_string().rfind("command line: --target : ", 0) == 0);
}
