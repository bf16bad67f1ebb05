#include <signal.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cerrno>
#include <sched.h>

#include "record_test_support.hpp"

using namespace vhm::record;
using namespace vhm::record::test;

namespace {

std::unique_ptr<RecordingWriter> create_at(const fs::path& path, std::string& error, int& error_number,
                                           Compression compression = Compression::none) {
  error_number = 0;
  return RecordingWriter::create({path, 0600, compression, 3}, sample_header(), error, &error_number);
}

}  // namespace

TEST_CASE("writer errors: never overwrites an existing file") {
  TempDir dir;
  write_bytes(dir / "old.vhmrec", bytes_of("precious"));
  std::string error;
  int e = 0;
  CHECK(!create_at(dir / "old.vhmrec", error, e));
  CHECK(e == EEXIST);
  CHECK(error == "cannot create " + (dir / "old.vhmrec").string() + ": File exists");
  CHECK(read_bytes(dir / "old.vhmrec") == bytes_of("precious"));
}

TEST_CASE("writer errors: never follows a link at the file's name") {
  TempDir dir;
  fs::create_symlink(dir / "target", dir / "link.vhmrec");
  std::string error;
  int e = 0;
  CHECK(!create_at(dir / "link.vhmrec", error, e));
  CHECK(e == EEXIST);  // O_EXCL|O_CREAT refuses any existing name, a dangling link included
  CHECK(!fs::exists(dir / "target"));
}

TEST_CASE("writer errors: creates missing directories with mode 0700, reports one it cannot make") {
  TempDir dir;
  std::string error;
  int e = 0;
  REQUIRE(create_at(dir / "a" / "b" / "x.vhmrec", error, e));
  CHECK((fs::status(dir / "a" / "b").permissions() & fs::perms::all) == fs::perms::owner_all);

  write_bytes(dir / "file", bytes_of("x"));
  CHECK(!create_at(dir / "file" / "sub" / "x.vhmrec", error, e));
  CHECK(e == ENOTDIR);
  CHECK(error.find("cannot create directory " + (dir / "file" / "sub").string()) == 0);
}

TEST_CASE("writer errors: permission denied (not as root)") {
  if (::geteuid() == 0) {
    WARN("running as root: permissions are not enforced, skipped");
    return;
  }
  TempDir dir;
  fs::create_directory(dir / "ro");
  fs::permissions(dir / "ro", fs::perms::owner_read | fs::perms::owner_exec);
  std::string error;
  int e = 0;
  CHECK(!create_at(dir / "ro" / "x.vhmrec", error, e));
  CHECK(e == EACCES);
  CHECK(error == "cannot create " + (dir / "ro" / "x.vhmrec").string() + ": Permission denied");
}

TEST_CASE("writer errors: a failed write is reported with its errno, and the writer stops writing") {
  // RLIMIT_FSIZE makes write(2) fail with EFBIG past the limit, as ENOSPC would on a full disk.
  TempDir dir;
  const auto compression = GENERATE(Compression::none, Compression::zstd);
  std::string error;
  int e = 0;
  auto writer = create_at(dir / "x.vhmrec", error, e, compression);
  REQUIRE(writer);
  rlimit old{};
  REQUIRE(::getrlimit(RLIMIT_FSIZE, &old) == 0);
  const auto old_handler = ::signal(SIGXFSZ, SIG_IGN);
  rlimit small = old;
  small.rlim_cur = writer->file_bytes() + 100;
  REQUIRE(::setrlimit(RLIMIT_FSIZE, &small) == 0);
  Bytes noise(100'000);
  for (std::size_t i = 0; i < noise.size(); ++i) noise[i] = static_cast<std::uint8_t>((i * 2654435761u) >> 13);
  writer->append(Block{BlockType::server_data, 1, noise});
  const bool flushed = writer->flush(error, &e);
  const int flush_errno = e;
  const bool again = writer->flush(error, &e);
  const bool finished = writer->finish(sample_trailer(), error, &e);
  ::setrlimit(RLIMIT_FSIZE, &old);
  ::signal(SIGXFSZ, old_handler);
  CHECK(!flushed);
  CHECK(flush_errno == EFBIG);
  CHECK(!again);
  CHECK(!finished);
  CHECK(error.find("cannot write " + (dir / "x.vhmrec").string() + ": ") == 0);
  const auto r = read_path(dir / "x.vhmrec");
  CHECK(r.opened);
  CHECK(r.status != ReadStatus::complete);
}

TEST_CASE("writer errors: a full disk gives ENOSPC and its text (tmpfs in a private mount namespace)") {
  TempDir dir;
  const fs::path mount_point = dir / "tiny";
  fs::create_directory(mount_point);
  const pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {  // exit codes: 0 pass, 2 cannot set up (skip), 1 fail
    if (::unshare(CLONE_NEWNS) != 0 || ::mount("none", "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0 ||
        ::mount("tmpfs", mount_point.c_str(), "tmpfs", 0, "size=64k") != 0)
      ::_exit(2);
    std::string error;
    int e = 0;
    auto writer = create_at(mount_point / "x.vhmrec", error, e);
    if (!writer) ::_exit(1);
    writer->append(Block{BlockType::server_data, 1, Bytes(200'000, 7)});
    const bool ok = writer->flush(error, &e);
    const bool text = error == "cannot write " + (mount_point / "x.vhmrec").string() + ": No space left on device";
    ::_exit(!ok && e == ENOSPC && text ? 0 : 1);
  }
  int status = 0;
  REQUIRE(::waitpid(child, &status, 0) == child);
  REQUIRE(WIFEXITED(status));
  if (WEXITSTATUS(status) == 2) {
    WARN("cannot mount a tmpfs in a private mount namespace here: skipped");
    return;
  }
  CHECK(WEXITSTATUS(status) == 0);
}

TEST_CASE("writer errors: a trailer appended by hand is ignored, finish() writes the only one") {
  TempDir dir;
  std::string error;
  int e = 0;
  auto writer = create_at(dir / "x.vhmrec", error, e);
  REQUIRE(writer);
  writer->append(block(BlockType::trailer, 1, "{}"));
  writer->append(block(BlockType::server_data, 2, "a"));
  REQUIRE(writer->finish(sample_trailer(), error));
  const auto r = read_path(dir / "x.vhmrec");
  CHECK(r.status == ReadStatus::complete);
  CHECK(r.blocks.size() == 1);
}

TEST_CASE("reader: only regular files are opened, a FIFO does not block") {
  TempDir dir;
  REQUIRE(::mkfifo((dir / "fifo.vhmrec").c_str(), 0600) == 0);
  CHECK(read_path(dir / "fifo.vhmrec").open_error == (dir / "fifo.vhmrec").string() + ": not a regular file");
  CHECK(read_path(dir.path()).open_error == dir.path().string() + ": not a regular file");
}

TEST_CASE("writer errors: below a base directory no link is followed, and nothing outside it is created") {
  TempDir dir;
  TempDir outside;
  const fs::path base = dir / "recordings";
  fs::create_directory(base);
  const auto create_below = [&](const fs::path& path, std::string& error, int& e) {
    e = 0;
    return RecordingWriter::create({path, 0600, Compression::none, 3, base}, sample_header(), error, &e);
  };
  std::string error;
  int e = 0;
  SECTION("directories between are created") {
    REQUIRE(create_below(base / "alice" / "2026" / "x.vhmrec", error, e));
    CHECK(fs::is_regular_file(base / "alice" / "2026" / "x.vhmrec"));
    CHECK((fs::status(base / "alice").permissions() & fs::perms::all) == fs::perms::owner_all);
    CHECK(read_path(base / "alice" / "2026" / "x.vhmrec").status == ReadStatus::truncated);
  }
  SECTION("a link between is refused") {
    fs::create_directory_symlink(outside.path(), base / "alice");
    CHECK(!create_below(base / "alice" / "x.vhmrec", error, e));
    CHECK(e == ELOOP);
    CHECK(error == "cannot create " + (base / "alice" / "x.vhmrec").string() + ": " + (base / "alice").string() +
                       " is a symbolic link");
    CHECK(fs::is_empty(outside.path()));
  }
  SECTION("a link at the file's name is refused") {
    fs::create_symlink(outside / "victim", base / "x.vhmrec");
    CHECK(!create_below(base / "x.vhmrec", error, e));
    CHECK(e == EEXIST);
    CHECK(!fs::exists(outside / "victim"));
  }
  SECTION("a missing base is made on first use, private, with its parents") {
    const fs::path fresh = dir / "new" / "recordings";
    e = 0;
    REQUIRE(RecordingWriter::create({fresh / "x.vhmrec", 0600, Compression::none, 3, fresh}, sample_header(), error, &e));
    CHECK(fs::is_regular_file(fresh / "x.vhmrec"));
    CHECK((fs::status(fresh).permissions() & fs::perms::all) == fs::perms::owner_all);
  }
  SECTION("the base itself may be a link") {
    fs::create_directory_symlink(outside.path(), dir / "via-link");
    e = 0;
    REQUIRE(RecordingWriter::create({dir / "via-link" / "x.vhmrec", 0600, Compression::none, 3, dir / "via-link"},
                                    sample_header(), error, &e));
    CHECK(fs::is_regular_file(outside / "x.vhmrec"));
  }
  SECTION("a path not below the base is refused") {
    CHECK(!create_below(dir / "elsewhere.vhmrec", error, e));
    CHECK(e == EINVAL);
    CHECK(error == "cannot create " + (dir / "elsewhere.vhmrec").string() + ": not below " + base.string());
    CHECK(!create_below(base / ".." / "up.vhmrec", error, e));
    CHECK(!create_below(base, error, e));
    CHECK(!fs::exists(dir / "up.vhmrec"));
  }
}
