#include <catch2/catch.hpp>

#include "record/inspect.hpp"
#include "record_test_support.hpp"

using namespace vhm::record;
using namespace vhm::record::test;

namespace {

bool has_line(const std::string& text, const std::string& label, const std::string& value) {
  const std::string line = label + std::string(label.size() < 14 ? 14 - label.size() : 1, ' ') + value + "\n";
  return text.find(line) != std::string::npos;
}

}  // namespace

TEST_CASE("inspect: a complete file") {
  TempDir dir;
  const auto compression = GENERATE(Compression::none, Compression::zstd);
  const Bytes bytes = write_recording(dir / "a.vhmrec", compression, sample_blocks());
  const auto s = inspect(dir / "a.vhmrec");
  CHECK(s.integrity == Integrity::complete);
  CHECK(s.problem.empty());
  CHECK(s.blocks == 4);
  CHECK(s.file_bytes == bytes.size());
  CHECK(s.server_bytes == 17 + 300);
  CHECK(s.viewer_bytes == 10);
  CHECK(s.notes == 1);
  REQUIRE(s.trailer);
  const std::string text = to_text(s);
  INFO(text);
  CHECK(has_line(text, "file:", (dir / "a.vhmrec").string()));
  CHECK(has_line(text, "session:", "s-42"));
  CHECK(has_line(text, "client:", "192.0.2.7:50123"));
  CHECK(has_line(text, "target:", "127.0.0.1:5901"));
  CHECK(has_line(text, "user:", "alice"));
  CHECK(has_line(text, "started:", "2026-11-29T21:30:00.000Z"));
  CHECK(has_line(text, "duration:", "0.300s"));
  CHECK(has_line(text, "desktop:", "\"alice's desktop\" 1024x768"));
  CHECK(has_line(text, "pixel format:", "32bpp depth 24 little-endian true-colour r255<<16 g255<<8 b255<<0"));
  CHECK(has_line(text, "security:", "VncAuth (RFB 3.8)"));
  CHECK(has_line(text, "compression:", compression == Compression::zstd ? "zstd" : "none"));
  CHECK(has_line(text, "status:", "complete"));

  const std::string json = to_json(s);
  CHECK(json.find("\"status\":\"complete\"") != std::string::npos);
  CHECK(json.find("\"started\":\"2026-11-29T21:30:00.000Z\"") != std::string::npos);
}

TEST_CASE("inspect: truncated, corrupt and unreadable files say so") {
  TempDir dir;
  const Bytes whole = write_recording(dir / "whole.vhmrec", Compression::none, sample_blocks(), 1);
  write_bytes(dir / "cut.vhmrec", Bytes(whole.begin(), whole.end() - 40));
  Bytes flipped = whole;
  flipped[flipped.size() - 30] ^= 4;
  write_bytes(dir / "bad.vhmrec", flipped);
  write_bytes(dir / "junk.vhmrec", bytes_of("junk"));

  const auto cut = inspect(dir / "cut.vhmrec");
  CHECK(cut.integrity == Integrity::truncated);
  CHECK(cut.blocks == 4);  // cut inside the trailer
  CHECK(!cut.trailer);
  CHECK(to_text(cut).find("status:       truncated (after 4 blocks, 0.250s: ") != std::string::npos);

  const auto bad = inspect(dir / "bad.vhmrec");
  CHECK(bad.integrity == Integrity::corrupt);
  CHECK(bad.problem.find("CRC mismatch") != std::string::npos);
  CHECK(to_text(bad).find("status:       corrupt (after ") != std::string::npos);

  const auto junk = inspect(dir / "junk.vhmrec");
  CHECK(junk.integrity == Integrity::unreadable);
  CHECK(to_text(junk).find("bad magic") != std::string::npos);
}

TEST_CASE("inspect: a directory is listed by start time in aligned columns and as JSON") {
  TempDir dir;
  Header later = sample_header();
  later.start_unix_us += 3'600'000'000;
  later.session["user"] = "bob";
  write_recording(dir / "sub" / "z-later.vhmrec", Compression::zstd, sample_blocks(), 2, later);
  write_recording(dir / "y-early.vhmrec", Compression::none, sample_blocks());
  write_bytes(dir / "x-junk.vhmrec", bytes_of("junk"));
  write_bytes(dir / "ignored.txt", bytes_of("junk"));
  fs::create_symlink(dir / "y-early.vhmrec", dir / "w-link.vhmrec");

  const auto files = inspect_dir(dir.path());
  REQUIRE(files.size() == 3);
  CHECK(files[0].path.filename() == "y-early.vhmrec");
  CHECK(files[1].path.filename() == "z-later.vhmrec");
  CHECK(files[2].path.filename() == "x-junk.vhmrec");

  const std::string table = list_table(files);
  INFO(table);
  std::vector<std::string> lines;
  for (std::size_t at = 0; at < table.size();) {
    const std::size_t end = table.find('\n', at);
    lines.push_back(table.substr(at, end - at));
    at = end + 1;
  }
  REQUIRE(lines.size() == 4);
  CHECK(lines[0].find("START") == 0);
  const std::size_t file_column = lines[0].find("FILE");
  CHECK(lines[1].find((dir / "y-early.vhmrec").string()) == file_column);
  CHECK(lines[2].find((dir / "sub" / "z-later.vhmrec").string()) == file_column);
  CHECK(lines[1].find("2026-11-29 21:30:00") == 0);
  CHECK(lines[2].find("bob") == lines[0].find("USER"));
  CHECK(lines[3].find("unreadable") == lines[0].find("STATUS"));

  const std::string json = list_json(files);
  CHECK(json.front() == '[');
  CHECK(json.find("\"status\":\"unreadable\"") != std::string::npos);
}
