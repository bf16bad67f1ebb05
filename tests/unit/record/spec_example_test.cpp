// The example of docs/recording-format.md, byte for byte: the writer produces
// it and the reader reads it, so the spec and the code cannot drift apart.
#include <catch2/catch.hpp>

#include "record_test_support.hpp"

using namespace vhm::record;
using namespace vhm::record::test;

namespace {

Bytes spec_example() {
  const std::string json =
      R"({"writer":"vnc-hooks-manager","compression":"none","start_unix_us":1795987800000000,)"
      R"("session":{"client_ip":"192.0.2.7","session_id":"s-1"},"rfb_version":"3.8",)"
      R"("security_type":"VncAuth","content_visible":true,"not_visible_reason":"",)"
      R"("include_input":false,"server_init":{"width":1024,"height":768,)"
      R"("pixel_format":"2018000100ff00ff00ff100800000000","desktop_name":"desk"}})";
  const std::string trailer =
      R"({"duration_us":2000,"server_bytes":4,"viewer_bytes":0,"recorded_server_bytes":4,)"
      R"("recorded_viewer_bytes":0,"dropped_bytes":0,"end_reason":"viewer closed"})";
  Bytes f = bytes_of("VHM-REC\n");
  f.insert(f.end(), {0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x70});
  f.insert(f.end(), json.begin(), json.end());
  f.insert(f.end(), {0xcc, 0x30, 0x1f, 0x61});
  f.insert(f.end(), {0x01, 0, 0, 0, 0, 0, 0, 0x05, 0xdc, 0, 0, 0, 0x04, 0, 0, 0, 0x01, 0xd8, 0xd4, 0xd5, 0xc1});
  f.insert(f.end(), {0x04, 0, 0, 0, 0, 0, 0, 0x07, 0xd0, 0, 0, 0, 0x99});
  f.insert(f.end(), trailer.begin(), trailer.end());
  f.insert(f.end(), {0x36, 0x21, 0x9b, 0x63});
  return f;
}

Header spec_header() {
  Header h;
  h.start_unix_us = 1'795'987'800'000'000;
  h.session = {{"session_id", "s-1"}, {"client_ip", "192.0.2.7"}};
  h.rfb_version = "3.8";
  h.security_type = "VncAuth";
  h.server_init = ServerInit{1024, 768, rgb888(), "desk"};
  return h;
}

}  // namespace

TEST_CASE("spec example: the writer produces the documented bytes") {
  const Bytes expected = spec_example();
  REQUIRE(expected.size() == 583);
  TempDir dir;
  std::string error;
  auto writer = RecordingWriter::create({dir / "e.vhmrec", 0600, Compression::none, 3}, spec_header(), error);
  REQUIRE(writer);
  writer->append(Block{BlockType::server_data, 1500, {0, 0, 0, 1}});
  Trailer t;
  t.duration_us = 2000;
  t.server_bytes = 4;
  t.recorded_server_bytes = 4;
  t.end_reason = "viewer closed";
  REQUIRE(writer->finish(t, error));
  CHECK(read_bytes(dir / "e.vhmrec") == expected);
}

TEST_CASE("spec example: the reader reads the documented bytes, and every cut of them as documented") {
  const Bytes file = spec_example();
  const auto r = read_memory(file);
  REQUIRE(r.status == ReadStatus::complete);
  REQUIRE(r.blocks.size() == 1);
  CHECK(r.blocks[0].time_us == 1500);
  CHECK(r.trailer->end_reason == "viewer closed");
  for (std::size_t cut = 0; cut < file.size(); ++cut) {
    const auto part = read_memory(Bytes(file.begin(), file.begin() + static_cast<std::ptrdiff_t>(cut)));
    if (cut < 392) {
      CHECK(part.open_error.find("truncated") != std::string::npos);
    } else {
      CHECK(part.status == ReadStatus::truncated);
      CHECK(part.blocks.size() == (cut >= 413 ? 1u : 0u));
    }
  }
}
