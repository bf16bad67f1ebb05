#include <catch2/catch.hpp>

#include "record/header_json.hpp"
#include "record_test_support.hpp"

using namespace vhm::record;
using namespace vhm::record::test;

TEST_CASE("round trip: blocks, header and trailer come back as written, with and without zstd") {
  const auto compression = GENERATE(Compression::none, Compression::zstd);
  TempDir dir;
  Header header = sample_header();
  header.viewer_pixel_format = PixelFormat{{16, 16, 1, 1, 0, 31, 0, 63, 0, 31, 11, 5, 0, 0, 0, 0}};
  header.viewer_encodings = std::vector<std::int32_t>{16, 7, -223, -308, 0};
  header.include_input = true;
  const auto blocks = sample_blocks();
  write_recording(dir / "a.vhmrec", compression, blocks, 2, header);

  std::string error;
  auto reader = RecordingReader::open(dir / "a.vhmrec", error);
  REQUIRE(reader);
  const Header& h = reader->header();
  CHECK(h.compression == compression);
  CHECK(h.start_unix_us == header.start_unix_us);
  CHECK(h.session == header.session);
  CHECK(h.rfb_version == "3.8");
  CHECK(h.security_type == "VncAuth");
  CHECK(h.content_visible);
  CHECK(h.include_input);
  CHECK(h.server_init.width == 1024);
  CHECK(h.server_init.height == 768);
  CHECK(h.server_init.pixel_format == rgb888());
  CHECK(h.server_init.desktop_name == "alice's desktop");
  CHECK(h.viewer_pixel_format == header.viewer_pixel_format);
  CHECK(h.viewer_encodings == header.viewer_encodings);

  const auto all = read_all(std::move(reader), error);
  REQUIRE(all.status == ReadStatus::complete);
  CHECK(all.error.empty());
  REQUIRE(all.blocks.size() == blocks.size());
  for (std::size_t i = 0; i < blocks.size(); ++i) CHECK(same_block(all.blocks[i], blocks[i]));
  REQUIRE(all.trailer);
  CHECK(all.trailer->duration_us == 300'000);
  CHECK(all.trailer->server_bytes == 400);
  CHECK(all.trailer->recorded_server_bytes == 318);
  CHECK(all.trailer->end_reason == "viewer closed");
}

TEST_CASE("round trip: a file and the same bytes in memory read the same") {
  const auto compression = GENERATE(Compression::none, Compression::zstd);
  TempDir dir;
  const Bytes bytes = write_recording(dir / "a.vhmrec", compression, sample_blocks(), 1);
  const auto from_file = read_path(dir / "a.vhmrec");
  const auto from_memory = read_memory(bytes);
  CHECK(from_file.status == ReadStatus::complete);
  CHECK(from_memory.status == ReadStatus::complete);
  CHECK(from_file.blocks.size() == from_memory.blocks.size());
}

TEST_CASE("round trip: payloads over the block limit are split into blocks of the same type and time") {
  const auto compression = GENERATE(Compression::none, Compression::zstd);
  TempDir dir;
  Bytes big(max_block_payload * 2 + 5);
  for (std::size_t i = 0; i < big.size(); ++i) big[i] = static_cast<std::uint8_t>(i * 7 + i / 4096);
  write_recording(dir / "big.vhmrec", compression, {Block{BlockType::server_data, 77, big}}, 1);
  const auto all = read_path(dir / "big.vhmrec");
  REQUIRE(all.status == ReadStatus::complete);
  REQUIRE(all.blocks.size() == 3);
  Bytes joined;
  for (const auto& b : all.blocks) {
    CHECK(b.type == BlockType::server_data);
    CHECK(b.time_us == 77);
    CHECK(b.payload.size() <= max_block_payload);
    joined.insert(joined.end(), b.payload.begin(), b.payload.end());
  }
  CHECK(joined == big);
}

TEST_CASE("round trip: non-UTF-8 desktop names survive as bytes, the JSON stays valid UTF-8") {
  Header header = sample_header();
  header.server_init.desktop_name = "B\xfcro \xff";  // Latin-1
  const std::string json = header_to_json(header);
  CHECK(json.find("desktop_name_hex") != std::string::npos);
  std::string error;
  const auto back = header_from_json(json, error);
  REQUIRE(back);
  CHECK(back->server_init.desktop_name == "B\xfcro \xff");
}

TEST_CASE("round trip: a writer clamps times that go backwards, so its files always read") {
  TempDir dir;
  write_recording(dir / "t.vhmrec", Compression::none,
                  {block(BlockType::server_data, 1000, "a"), block(BlockType::server_data, 10, "b")});
  const auto all = read_path(dir / "t.vhmrec");
  REQUIRE(all.status == ReadStatus::complete);
  REQUIRE(all.blocks.size() == 2);
  CHECK(all.blocks[1].time_us == 1000);
}

TEST_CASE("round trip: a writer destroyed without finish leaves a truncated file with its flushed blocks") {
  const auto compression = GENERATE(Compression::none, Compression::zstd);
  TempDir dir;
  {
    std::string error;
    auto writer = RecordingWriter::create({dir / "cut.vhmrec", 0600, compression, 3}, sample_header(), error);
    REQUIRE(writer);
    writer->append(block(BlockType::server_data, 1, "one"));
    REQUIRE(writer->flush(error));
    CHECK(writer->file_bytes() == read_bytes(dir / "cut.vhmrec").size());
    writer->append(block(BlockType::server_data, 2, "two"));
    CHECK(writer->pending_bytes() > 0);
  }
  const auto all = read_path(dir / "cut.vhmrec");
  CHECK(all.status == ReadStatus::truncated);
  CHECK(all.blocks.size() == 2);
  CHECK(!all.trailer);
}

TEST_CASE("round trip: the file gets the requested mode despite the umask") {
  TempDir dir;
  const mode_t old = ::umask(077);
  std::string error;
  auto writer = RecordingWriter::create({dir / "m.vhmrec", 0640, Compression::none, 3}, sample_header(), error);
  ::umask(old);
  REQUIRE(writer);
  struct stat st {};
  REQUIRE(::stat((dir / "m.vhmrec").c_str(), &st) == 0);
  CHECK((st.st_mode & 07777) == 0640);
}
