#include <catch2/catch.hpp>

#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <stdexcept>

#include "player/playable.hpp"
#include "record/writer.hpp"

using namespace vhm;

namespace {

namespace fs = std::filesystem;

class PlayableDir {
 public:
  PlayableDir() {
    std::string pattern = "/tmp/vhm-player-test-XXXXXX";
    if (!::mkdtemp(pattern.data())) throw std::runtime_error("mkdtemp failed");
    path_ = pattern;
  }
  ~PlayableDir() {
    std::error_code ignored;
    fs::remove_all(path_, ignored);
  }
  fs::path operator/(const std::string& name) const { return path_ / name; }

 private:
  fs::path path_;
};

record::PixelFormat playable_format(std::uint8_t bpp) {
  return record::PixelFormat{{bpp, 24, 0, 1, 0, 255, 0, 255, 0, 255, 16, 8, 0, 0, 0, 0}};
}

record::Header playable_header() {
  record::Header header;
  header.start_unix_us = 1'764'450'000'000'000;
  header.server_init.width = 0x0102;
  header.server_init.height = 0x0304;
  header.server_init.pixel_format = playable_format(32);
  header.server_init.desktop_name = "desk";
  return header;
}

// Two server blocks (3 and 2 bytes) and a note; finished unless `truncate`.
fs::path write_playable(const fs::path& path, const record::Header& header, bool finish = true) {
  std::string error;
  auto writer = record::RecordingWriter::create({path}, header, error);
  REQUIRE(writer);
  writer->append({record::BlockType::server_data, 100, {1, 2, 3}});
  writer->append({record::BlockType::note, 200, {'n'}});
  writer->append({record::BlockType::server_data, 700'000, {4, 5}});
  REQUIRE(writer->flush(error));
  record::Trailer trailer;
  trailer.duration_us = 900'000;
  if (finish) REQUIRE(writer->finish(trailer, error));
  return path;
}

}  // namespace

TEST_CASE("playable: a complete recording, its length and its ServerInit") {
  PlayableDir dir;
  auto header = playable_header();
  const auto path = write_playable(dir / "a.vhmrec", header);
  std::string error;
  const auto playable = player::load_playable(path, error);
  REQUIRE(playable);
  CHECK(playable->integrity == record::Integrity::complete);
  CHECK(playable->server_bytes == 5);
  CHECK(playable->last_time_us == 900'000);  // the trailer's duration
  CHECK(playable->pixel_format == header.server_init.pixel_format);
  const std::vector<std::uint8_t> expected_init{1, 2, 3, 4, 32, 24, 0, 1, 0, 255, 0, 255, 0, 255, 16, 8, 0, 0, 0, 0,
                                                0, 0, 0, 4, 'd', 'e', 's', 'k'};
  CHECK(player::server_init_message(*playable) == expected_init);
}

TEST_CASE("playable: the recorded viewer's pixel format is the one served") {
  PlayableDir dir;
  auto header = playable_header();
  header.viewer_pixel_format = playable_format(16);
  std::string error;
  const auto playable = player::load_playable(write_playable(dir / "v.vhmrec", header), error);
  REQUIRE(playable);
  CHECK(playable->pixel_format == playable_format(16));
  CHECK(player::server_init_message(*playable)[4] == 16);
}

TEST_CASE("playable: a truncated recording plays, and says why") {
  PlayableDir dir;
  std::string error;
  const auto playable = player::load_playable(write_playable(dir / "t.vhmrec", playable_header(), false), error);
  REQUIRE(playable);
  CHECK(playable->integrity == record::Integrity::truncated);
  CHECK(playable->problem == "file ends after 3 blocks, without a trailer");
  CHECK(playable->last_time_us == 700'000);
}

TEST_CASE("playable: unplayable files are refused with a reason") {
  PlayableDir dir;
  std::string error;
  CHECK_FALSE(player::load_playable(dir / "missing.vhmrec", error));
  CHECK(error == "cannot open " + (dir / "missing.vhmrec").string() + ": No such file or directory");

  std::ofstream(dir / "text.vhmrec") << "hello, not a recording";
  CHECK_FALSE(player::load_playable(dir / "text.vhmrec", error));
  CHECK(error.find("not a vnc-hooks-manager recording") != std::string::npos);

  auto hidden = playable_header();
  hidden.content_visible = false;
  hidden.not_visible_reason = "TLS not terminated";
  CHECK_FALSE(player::load_playable(write_playable(dir / "h.vhmrec", hidden), error));
  CHECK(error == (dir / "h.vhmrec").string() +
                     ": the proxy could not see this session's content (TLS not terminated), so the recording "
                     "holds nothing to play");
}
