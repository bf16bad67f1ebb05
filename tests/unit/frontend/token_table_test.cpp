// websockify token files: the format as websockify reads it, a file or a
// directory of files re-read when they change (at most once a second), and
// tokens never in a problem line.
#include <catch2/catch.hpp>

#include <algorithm>

#include "frontend_test_support.hpp"
#include "proxy/frontend/token_table.hpp"

using namespace vhm::proxy::frontend;
using vhm::proxy::frontend::test::ScratchDir;
namespace fs = std::filesystem;

namespace {

std::string target_text(const std::optional<vhm::conf::HostPort>& target) {
  return target ? target->host + " " + std::to_string(target->port) : "none";
}

// A clock the test steps, starting far from zero.
struct SteppedClock {
  std::chrono::steady_clock::time_point now = std::chrono::steady_clock::time_point{} + std::chrono::hours(1000);
  TokenTable::Clock function() {
    return [this] { return now; };
  }
};

// A new mtime without sleeping: the table compares (mtime, size), so equal
// sizes written within one clock tick still count as a change.
void touch_later(const fs::path& file) { fs::last_write_time(file, fs::last_write_time(file) + std::chrono::seconds(5)); }

}  // namespace

TEST_CASE("token file: websockify's format: `token: host:port`, comments, blank lines, any whitespace") {
  const auto parsed = parse_token_file(
      "# noVNC targets\n"
      "\n"
      "alpha: 127.0.0.1:5901\n"
      "  beta:\t host.example:5902  \r\n"
      "gamma: [::1]:5903\r"
      "delta: ::1:5904\n"
      "with:colon: 10.0.0.1:5905\n"
      "   # indented comment\n"
      "alpha: 127.0.0.1:5999\n",  // a later duplicate wins
      "tokens.cfg");
  CHECK(parsed.problems.empty());
  REQUIRE(parsed.tokens.size() == 5);
  CHECK(target_text(parsed.tokens.at("alpha")) == "127.0.0.1 5999");
  CHECK(target_text(parsed.tokens.at("beta")) == "host.example 5902");
  CHECK(target_text(parsed.tokens.at("gamma")) == "::1 5903");
  CHECK(target_text(parsed.tokens.at("delta")) == "::1 5904");  // rsplit(':', 1)
  CHECK(target_text(parsed.tokens.at("with:colon")) == "10.0.0.1 5905");
}

TEST_CASE("token file: unreadable lines are named by file and line and never show the token") {
  const auto parsed = parse_token_file(
      "s3cret-one 127.0.0.1:5901\n"
      "s3cret-two:127.0.0.1:5901\n"
      "s3cret-three: a: b:1\n"
      "s3cret-four: 127.0.0.1\n"
      "s3cret-five: 127.0.0.1:0\n"
      "s3cret-six: 127.0.0.1:65536\n"
      "s3cret-seven: :5901\n"
      "s3cret-eight: unix_socket:/tmp/vnc.sock\n"
      "s3cret-nine: 127.0.0.1:59o1\n"
      "s3cret-ten: [ 1::2]:5901\n"
      "ok: 127.0.0.1:5901\n",
      "dir/t.cfg");
  CHECK(parsed.tokens.size() == 1);
  REQUIRE(parsed.problems.size() == 10);
  CHECK(parsed.problems[0] == "dir/t.cfg:1: expected `token: host:port` (one \": \" between token and target)");
  CHECK(parsed.problems[1].starts_with("dir/t.cfg:2: expected `token: host:port`"));
  CHECK(parsed.problems[2].starts_with("dir/t.cfg:3: expected `token: host:port`"));
  CHECK(parsed.problems[3] == "dir/t.cfg:4: expected host:port after the token");
  CHECK(parsed.problems[4] == "dir/t.cfg:5: the target's port is not a number from 1 to 65535");
  CHECK(parsed.problems[5] == "dir/t.cfg:6: the target's port is not a number from 1 to 65535");
  CHECK(parsed.problems[6] == "dir/t.cfg:7: the target has no host");
  CHECK(parsed.problems[7] == "dir/t.cfg:8: unix_socket targets are not supported");
  CHECK(parsed.problems[8] == "dir/t.cfg:9: the target's port is not a number from 1 to 65535");
  CHECK(parsed.problems[9] == "dir/t.cfg:10: the target's host has a space or control character");
  for (const auto& problem : parsed.problems) CHECK(problem.find("s3cret") == std::string::npos);
}

TEST_CASE("token file: the redacted form is sha256: and 8 hex digits of the token's digest") {
  CHECK(redact_token("secret") == "sha256:2bb80d53");
  CHECK(redact_token("tok en") == "sha256:3e405f6d");
  CHECK(redact_token("").size() == 15);
}

TEST_CASE("token table: a file is re-read when it changes, at most once a second") {
  ScratchDir dir;
  const auto file = dir.write("tokens", "a: 127.0.0.1:5901\n");
  SteppedClock clock;
  TokenTable table(file, clock.function());
  std::string error;
  REQUIRE(table.load(error));
  CHECK(table.size() == 1);
  CHECK(target_text(table.lookup("a")) == "127.0.0.1 5901");
  CHECK_FALSE(table.lookup("b"));

  dir.write("tokens", "b: 127.0.0.1:5902\n");  // same size, and touched to be sure of a new mtime
  touch_later(file);
  clock.now += std::chrono::milliseconds(999);
  CHECK(table.lookup("a"));  // within the second: not looked at yet
  clock.now += std::chrono::milliseconds(2);
  CHECK_FALSE(table.lookup("a"));
  CHECK(target_text(table.lookup("b")) == "127.0.0.1 5902");

  // Removed: its tokens are revoked; back: they are found again.
  fs::remove(file);
  clock.now += std::chrono::seconds(2);
  CHECK_FALSE(table.lookup("b"));
  CHECK(table.size() == 0);
  dir.write("tokens", "b: 127.0.0.1:5903\n");
  clock.now += std::chrono::seconds(2);
  CHECK(target_text(table.lookup("b")) == "127.0.0.1 5903");
}

TEST_CASE("token table: a directory means its regular files, without dotfiles and editor backups") {
  ScratchDir dir;
  const auto tokens = dir.mkdir("tokens.d");
  dir.write("tokens.d/one.cfg", "one: 127.0.0.1:5901\nshared: 127.0.0.1:5911\n");
  dir.write("tokens.d/two.cfg", "two: 127.0.0.1:5902\nshared: 127.0.0.1:5912\n");  // later by name wins
  dir.write("tokens.d/.hidden", "hidden: 127.0.0.1:5903\n");
  dir.write("tokens.d/one.cfg~", "backup: 127.0.0.1:5904\n");
  dir.mkdir("tokens.d/sub");
  dir.write("tokens.d/sub/deep.cfg", "deep: 127.0.0.1:5905\n");
  fs::create_symlink(dir.write("elsewhere.cfg", "linked: 127.0.0.1:5906\n"), tokens / "linked.cfg");
  SteppedClock clock;
  TokenTable table(tokens, clock.function());
  std::string error;
  REQUIRE(table.load(error));
  CHECK(table.size() == 4);
  CHECK(table.lookup("one"));
  CHECK(table.lookup("two"));
  CHECK(table.lookup("linked"));
  CHECK(target_text(table.lookup("shared")) == "127.0.0.1 5912");
  CHECK_FALSE(table.lookup("hidden"));
  CHECK_FALSE(table.lookup("backup"));
  CHECK_FALSE(table.lookup("deep"));

  dir.write("tokens.d/three.cfg", "three: 127.0.0.1:5907\n");  // a new file counts as a change
  clock.now += std::chrono::seconds(1);
  CHECK(table.lookup("three"));
  fs::remove(tokens / "one.cfg");  // so does a removed one
  clock.now += std::chrono::seconds(1);
  CHECK_FALSE(table.lookup("one"));
  CHECK(table.lookup("two"));
}

TEST_CASE("token table: a path that cannot be read fails the load with its name") {
  ScratchDir dir;
  TokenTable missing(dir.path() / "nope");
  std::string error;
  CHECK_FALSE(missing.load(error));
  CHECK(error == (dir.path() / "nope").string() + ": No such file or directory");
}

TEST_CASE("requested token: ?token= first, then the last path segment, then the Host name when enabled") {
  CHECK(requested_token("/websockify?token=abc", "", false) == "abc");
  CHECK(requested_token("/websockify?x=1&token=a%20b+c&token=second", "", false) == "a b c");
  CHECK(requested_token("/websockify?token=&token=later", "", false) == "later");  // blank values are dropped
  CHECK(requested_token("/websockify?token=abc%0A", "", false) == "abc");           // websockify's rstrip('\n')
  CHECK(requested_token("/websockify?token=%zz", "", false) == "%zz");              // as Python's unquote
  CHECK(requested_token("/tok%2Fen", "", false) == "tok/en");
  CHECK(requested_token("/vnc/abc?other=1", "", false) == "abc");
  CHECK(requested_token("/path/abc#fragment", "", false) == "abc");
  CHECK_FALSE(requested_token("/", "", false));
  CHECK_FALSE(requested_token("/websockify", "", false));
  CHECK_FALSE(requested_token("/websockify?tokens=x", "", false));
  CHECK_FALSE(requested_token("/dir/", "", false));
  CHECK_FALSE(requested_token("/websockify", "desk1.example:6080", false));
  CHECK(requested_token("/websockify", "desk1.example:6080", true) == "desk1.example");
  CHECK(requested_token("/websockify", "desk1.example", true) == "desk1.example");
  CHECK(requested_token("/websockify", "[::1]:6080", true) == "[::1]");
  CHECK(requested_token("/websockify?token=q", "desk1.example", true) == "q");
  CHECK_FALSE(requested_token("/", "", true));
}
