#include <sys/stat.h>

#include <catch2/catch.hpp>

#include "record/fbs_export.hpp"
#include "record_test_support.hpp"

using namespace vhm::record;
using namespace vhm::record::test;

namespace {

void be32(Bytes& out, std::uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<std::uint8_t>(v >> shift));
}

void raw(Bytes& out, std::string_view text) { out.insert(out.end(), text.begin(), text.end()); }

}  // namespace

TEST_CASE("fbs export: the bytes are exactly FBS 001.000 with a 3.3 handshake in front") {
  TempDir dir;
  const auto compression = GENERATE(Compression::none, Compression::zstd);
  const bool viewer_format = GENERATE(false, true);
  Header header = sample_header();
  const PixelFormat rgb565{{16, 16, 1, 1, 0, 31, 0, 63, 0, 31, 11, 5, 0, 0, 0, 0}};
  if (viewer_format) header.viewer_pixel_format = rgb565;
  write_recording(dir / "in.vhmrec", compression,
                  {block(BlockType::server_data, 0, "abc"), block(BlockType::viewer_data, 1000, "xx"),
                   block(BlockType::server_data, 2500, ""), block(BlockType::note, 3000, "note"),
                   block(BlockType::server_data, 1'234'567, "12345678")},
                  2, header);
  const auto result = export_fbs(dir / "in.vhmrec", dir / "out.fbs");
  REQUIRE(result.error == "");
  REQUIRE(result.ok);
  CHECK(!result.source_truncated);
  CHECK(result.blocks == 3);

  Bytes expected;
  raw(expected, "FBS 001.000\n");
  be32(expected, 55);  // 12 + 4 + ServerInit (2 + 2 + 16 + 4 + 15)
  raw(expected, "RFB 003.003\n");
  be32(expected, 1);
  expected.insert(expected.end(), {0x04, 0x00, 0x03, 0x00});  // 1024 x 768
  const PixelFormat format = viewer_format ? rgb565 : rgb888();
  expected.insert(expected.end(), format.bytes.begin(), format.bytes.end());
  be32(expected, 15);
  raw(expected, "alice's desktop");
  expected.push_back(0);  // padding to 56
  be32(expected, 0);
  be32(expected, 3);
  raw(expected, "abc");
  expected.push_back(0);
  be32(expected, 0);
  be32(expected, 8);
  raw(expected, "12345678");
  be32(expected, 1234);
  CHECK(read_bytes(dir / "out.fbs") == expected);
  CHECK(result.bytes == expected.size());
  for (const auto& entry : fs::directory_iterator(dir.path()))  // no temporary left behind
    CHECK(entry.path().filename().string().find(".tmp-") == std::string::npos);
}

TEST_CASE("fbs export: never overwrites unless asked") {
  TempDir dir;
  write_recording(dir / "in.vhmrec", Compression::none, sample_blocks());
  write_bytes(dir / "out.fbs", bytes_of("keep"));
  const auto refused = export_fbs(dir / "in.vhmrec", dir / "out.fbs");
  CHECK(!refused.ok);
  CHECK(refused.error == "refusing to overwrite " + (dir / "out.fbs").string());
  CHECK(read_bytes(dir / "out.fbs") == bytes_of("keep"));
  const auto forced = export_fbs(dir / "in.vhmrec", dir / "out.fbs", true);
  CHECK(forced.ok);
  CHECK(read_bytes(dir / "out.fbs").size() > 12);
}

TEST_CASE("fbs export: invisible content, truncated and corrupt sources") {
  TempDir dir;
  SECTION("content not visible") {
    Header header = sample_header();
    header.content_visible = false;
    header.not_visible_reason = "TLS not terminated";
    write_recording(dir / "in.vhmrec", Compression::none, {}, 1, header);
    const auto r = export_fbs(dir / "in.vhmrec", dir / "out.fbs");
    CHECK(!r.ok);
    CHECK(r.error.find("nothing to export: ") == 0);
    CHECK(r.error.find("TLS not terminated") != std::string::npos);
    CHECK(!fs::exists(dir / "out.fbs"));
  }
  SECTION("truncated: exported up to the last complete block") {
    const Bytes whole = write_recording(dir / "whole.vhmrec", Compression::none, sample_blocks(), 1);
    write_bytes(dir / "in.vhmrec", Bytes(whole.begin(), whole.end() - 40));
    const auto r = export_fbs(dir / "in.vhmrec", dir / "out.fbs");
    CHECK(r.ok);
    CHECK(r.source_truncated);
    CHECK(r.blocks == 3);  // the handshake and both server blocks: the cut is in the trailer
  }
  SECTION("corrupt: nothing written") {
    Bytes bytes = write_recording(dir / "whole.vhmrec", Compression::none, sample_blocks(), 1);
    bytes[bytes.size() - 30] ^= 1;
    write_bytes(dir / "in.vhmrec", bytes);
    const auto r = export_fbs(dir / "in.vhmrec", dir / "out.fbs");
    CHECK(!r.ok);
    CHECK(r.error.find("CRC mismatch") != std::string::npos);
    CHECK(fs::is_empty(dir.path()) == false);
    CHECK(!fs::exists(dir / "out.fbs"));
  }
  SECTION("not a recording") {
    write_bytes(dir / "in.vhmrec", bytes_of("hello"));
    CHECK(export_fbs(dir / "in.vhmrec", dir / "out.fbs").error.find("bad magic") != std::string::npos);
  }
}
