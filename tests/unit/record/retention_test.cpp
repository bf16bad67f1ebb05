#include <sys/time.h>

#include <catch2/catch.hpp>

#include "record/retention.hpp"
#include "record_test_support.hpp"

using namespace vhm::record;
using namespace vhm::record::test;
using namespace std::chrono_literals;

namespace {

const auto retention_now = std::chrono::system_clock::time_point(std::chrono::seconds(1'800'000'000));

// A file of `size` bytes last modified `age` before retention_now.
fs::path aged_file(const fs::path& path, std::size_t size, std::chrono::seconds age) {
  fs::create_directories(path.parent_path());
  write_bytes(path, Bytes(size, 'r'));
  const auto when = std::chrono::duration_cast<std::chrono::seconds>((retention_now - age).time_since_epoch()).count();
  const timeval times[2] = {{when, 0}, {when, 0}};
  ::utimes(path.c_str(), times);
  return path;
}

std::set<fs::path> removed_set(const PruneResult& r) { return {r.removed.begin(), r.removed.end()}; }

}  // namespace

TEST_CASE("retention: files older than max_age go, younger ones stay") {
  TempDir dir;
  const auto old1 = aged_file(dir / "old1.vhmrec", 10, 48h);
  const auto old2 = aged_file(dir / "sub" / "deeper" / "old2.vhmrec", 20, 30h);
  const auto young = aged_file(dir / "young.vhmrec", 30, 1h);
  const auto result = prune(dir.path(), {std::chrono::seconds(24h), std::nullopt}, retention_now, {});
  CHECK(removed_set(result) == std::set<fs::path>{old1, old2});
  CHECK(result.bytes_removed == 30);
  CHECK(result.bytes_kept == 30);
  CHECK(result.errors.empty());
  CHECK(fs::exists(young));
  CHECK(!fs::exists(old2));
}

TEST_CASE("retention: the oldest go until the total fits; files in use stay and count") {
  TempDir dir;
  const auto a = aged_file(dir / "a.vhmrec", 100, 5h);
  const auto b = aged_file(dir / "b.vhmrec", 100, 4h);
  const auto c = aged_file(dir / "c.vhmrec", 100, 3h);
  const auto d = aged_file(dir / "d.vhmrec", 100, 2h);
  SECTION("no file in use") {
    const auto result = prune(dir.path(), {std::nullopt, 250}, retention_now, {});
    CHECK(result.removed == std::vector<fs::path>{a, b});
    CHECK(result.bytes_kept == 200);
  }
  SECTION("the oldest is in use") {
    const auto result = prune(dir.path(), {std::nullopt, 250}, retention_now, {a});
    CHECK(result.removed == std::vector<fs::path>{b, c});
    CHECK(fs::exists(a));
    CHECK(result.bytes_kept == 200);
  }
  SECTION("in use by another spelling of its path") {
    const auto result = prune(dir.path(), {std::chrono::seconds(1h), std::nullopt}, retention_now,
                              {dir.path() / "." / "a.vhmrec"});
    CHECK(removed_set(result) == std::set<fs::path>{b, c, d});
  }
  SECTION("nothing to do") {
    CHECK(prune(dir.path(), {std::nullopt, 400}, retention_now, {}).removed.empty());
    CHECK(prune(dir.path(), {}, retention_now, {}).removed.empty());
  }
}

TEST_CASE("retention: only regular *.vhmrec files; links are neither followed nor removed") {
  TempDir dir;
  TempDir outside;
  const auto target = aged_file(outside / "victim.vhmrec", 50, 100h);
  const auto other = aged_file(dir / "notes.txt", 50, 100h);
  fs::create_symlink(target, dir / "link.vhmrec");
  fs::create_directory_symlink(outside.path(), dir / "linked_dir");
  const auto own = aged_file(dir / "own.vhmrec", 50, 100h);
  const auto result = prune(dir.path(), {std::chrono::seconds(1h), 0}, retention_now, {});
  CHECK(result.removed == std::vector<fs::path>{own});
  CHECK(fs::exists(target));
  CHECK(fs::exists(other));
  CHECK(fs::is_symlink(dir / "link.vhmrec"));
}

TEST_CASE("retention: a missing directory is an error, not a crash") {
  TempDir dir;
  const auto result = prune(dir / "missing", {std::chrono::seconds(1h), 0}, retention_now, {});
  CHECK(result.removed.empty());
  CHECK(result.errors.size() == 1);
}
