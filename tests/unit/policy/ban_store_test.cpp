#include <catch2/catch.hpp>

#include <stdlib.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>

#include "policy/ban_store.hpp"
#include "policy_test_support.hpp"

using namespace vhm::policy;
using namespace std::chrono_literals;
using test::t0;
namespace fs = std::filesystem;

namespace {

class TempDir {
 public:
  TempDir() {
    std::string pattern = (fs::temp_directory_path() / "vhm-policy-test-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ignored;
    fs::remove_all(path_, ignored);
  }
  const fs::path& path() const { return path_; }
  fs::path write(const std::string& name, std::string_view content) const {
    std::ofstream(path_ / name, std::ios::binary | std::ios::trunc) << content;
    return path_ / name;
  }

 private:
  fs::path path_;
};

mode_t mode_of(const fs::path& path) {
  struct stat st {};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  return st.st_mode & 07777;
}

std::size_t entries_in(const fs::path& dir) {
  return static_cast<std::size_t>(std::distance(fs::directory_iterator(dir), fs::directory_iterator()));
}

const std::vector<Ban> sample = {
    {"192.0.2.7", 5, t0 + 1h, 1h, 1},
    {"2001:db8:1:2::/64", 12, t0 + 4h, 4h, 3},
};

bool contains(std::string_view text, std::string_view part) { return text.find(part) != std::string_view::npos; }

}  // namespace

TEST_CASE("ban store: bans saved and loaded again are the same; file mode 0600, no temp files left") {
  TempDir dir;
  const fs::path file = dir.path() / "bans.json";
  std::string error = "stale";
  REQUIRE(save_bans(file, sample, error));
  CHECK(error.empty());
  CHECK(mode_of(file) == 0600);
  CHECK(entries_in(dir.path()) == 1);
  const LoadedBans loaded = load_bans(file, t0);
  CHECK(loaded.error.empty());
  CHECK(loaded.bans == sample);
}

TEST_CASE("ban store: the file format is versioned JSON with Unix-millisecond ends") {
  CHECK(bans_to_json({sample[0]}) ==
        "{\"version\":1,\"bans\":[{\"key\":\"192.0.2.7\",\"until_ms\":1795440282000,\"failures\":5,\"duration\":3600,"
        "\"level\":1}]}\n");
  CHECK(bans_to_json({}) == "{\"version\":1,\"bans\":[]}\n");
}

TEST_CASE("ban store: the end survives to the millisecond; a finer one is rounded up, never shortened") {
  const Ban ban{"192.0.2.7", 5, t0 + 1h + 1ms, 1h, 1};
  const auto loaded = bans_from_json(bans_to_json({ban}), t0);
  REQUIRE(loaded.bans.size() == 1);
  CHECK(loaded.bans[0].until == t0 + 1h + 1ms);
  const Ban finer{"192.0.2.7", 5, t0 + 1h + std::chrono::microseconds(1500), 1h, 1};
  CHECK(bans_from_json(bans_to_json({finer}), t0).bans.at(0).until == t0 + 1h + 2ms);
}

TEST_CASE("ban store: saving replaces an existing file, and makes it 0600") {
  TempDir dir;
  const fs::path file = dir.write("bans.json", "old contents");
  ::chmod(file.c_str(), 0644);
  std::string error;
  REQUIRE(save_bans(file, {sample[1]}, error));
  CHECK(mode_of(file) == 0600);
  const auto loaded = load_bans(file, t0);
  CHECK(loaded.error.empty());
  CHECK(loaded.bans == std::vector<Ban>{sample[1]});
  CHECK(entries_in(dir.path()) == 1);
}

TEST_CASE("ban store: a save that cannot be done reports why and leaves nothing behind") {
  TempDir dir;
  std::string error;
  CHECK_FALSE(save_bans(dir.path() / "missing-dir/bans.json", sample, error));
  CHECK(contains(error, "cannot save ban state file " + (dir.path() / "missing-dir/bans.json").string()));
  CHECK(contains(error, "No such file or directory"));
  // The target is a directory: rename fails, the temp file is removed.
  fs::create_directory(dir.path() / "taken");
  fs::create_directory(dir.path() / "taken/x");
  CHECK_FALSE(save_bans(dir.path() / "taken", sample, error));
  CHECK(contains(error, "rename"));
  CHECK(entries_in(dir.path()) == 1);
}

TEST_CASE("ban store: a missing file is no bans and no error") {
  TempDir dir;
  const auto loaded = load_bans(dir.path() / "never-written.json", t0);
  CHECK(loaded.bans.empty());
  CHECK(loaded.error.empty());
}

TEST_CASE("ban store: bans that have ended are not loaded") {
  const std::vector<Ban> bans = {{"192.0.2.1", 5, t0 - 1s, 1h, 1}, {"192.0.2.2", 5, t0, 1h, 1},
                                 {"192.0.2.3", 5, t0 + 1s, 1h, 1}};
  const auto loaded = bans_from_json(bans_to_json(bans), t0);
  CHECK(loaded.error.empty());
  REQUIRE(loaded.bans.size() == 1);
  CHECK(loaded.bans[0].key == "192.0.2.3");
}

TEST_CASE("ban store: a corrupt file is no bans plus a message naming the file") {
  TempDir dir;
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"", "not valid JSON"},
      {"{\"version\":1,\"bans\":[", "not valid JSON"},
      {"[1,2]", "expected a JSON object at the top"},
      {"{\"bans\":[]}", "unknown format version"},
      {"{\"version\":2,\"bans\":[]}", "unknown format version"},
      {"{\"version\":1}", "\"bans\" is missing or not a list"},
      {"{\"version\":1,\"bans\":{}}", "\"bans\" is missing or not a list"},
      {"{\"version\":1,\"bans\":[7]}", "bans[0] is not an object"},
      {"{\"version\":1,\"bans\":[{\"until_ms\":1,\"failures\":1,\"duration\":1,\"level\":1}]}", "bans[0].key is missing"},
      {"{\"version\":1,\"bans\":[{\"key\":\"example.com\",\"until_ms\":1,\"failures\":1,\"duration\":1,\"level\":1}]}",
       "bans[0].key \"example.com\" is not an address or address block"},
      {"{\"version\":1,\"bans\":[{\"key\":\"2001:DB8::1\",\"until_ms\":1,\"failures\":1,\"duration\":1,\"level\":1}]}",
       "is not an address or address block"},
      {"{\"version\":1,\"bans\":[{\"key\":\"192.0.2.7\",\"until_ms\":-5,\"failures\":1,\"duration\":1,\"level\":1}]}",
       "bans[0].until_ms is missing or not a Unix time in milliseconds"},
      {"{\"version\":1,\"bans\":[{\"key\":\"192.0.2.7\",\"until_ms\":\"soon\",\"failures\":1,\"duration\":1,\"level\":1}]}",
       "bans[0].until_ms is missing or not a Unix time in milliseconds"},
      {"{\"version\":1,\"bans\":[{\"key\":\"192.0.2.7\",\"until_ms\":1,\"failures\":1,\"duration\":0,\"level\":1}]}",
       "bans[0]: failures, duration and level must be positive whole numbers"},
      {"{\"version\":1,\"bans\":[{\"key\":\"192.0.2.7\",\"until_ms\":1,\"failures\":1.5,\"duration\":1,\"level\":1}]}",
       "must be positive whole numbers"},
  };
  for (const auto& [text, message] : cases) {
    INFO(text);
    const fs::path file = dir.write("bans.json", text);
    const LoadedBans loaded = load_bans(file, t0);
    CHECK(loaded.bans.empty());
    CHECK(contains(loaded.error, "ban state file " + file.string() + ": "));
    CHECK(contains(loaded.error, message));
  }
}

TEST_CASE("ban store: one bad entry among good ones discards the whole file") {
  const std::string text = "{\"version\":1,\"bans\":[{\"key\":\"192.0.2.7\",\"until_ms\":1895436682,\"failures\":5,"
                           "\"duration\":3600,\"level\":1},{\"key\":\"x\"}]}";
  const auto loaded = bans_from_json(text, t0);
  CHECK(loaded.bans.empty());
  CHECK(contains(loaded.error, "bans[1]"));
}

TEST_CASE("ban store: a directory where the file should be is an error, not a crash") {
  TempDir dir;
  const auto loaded = load_bans(dir.path(), t0);
  CHECK(loaded.bans.empty());
  CHECK(contains(loaded.error, "not a regular file"));
}
