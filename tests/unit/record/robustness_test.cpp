#include <catch2/catch.hpp>

#include "hand_built.hpp"

using namespace vhm::record;
using namespace vhm::record::test;

namespace {

std::size_t header_size(const Bytes& file) { return codec::preamble_fixed_size + codec::get_u32(file.data() + 16) + 4; }

}  // namespace

TEST_CASE("robustness: a file cut at every byte reads as truncated, never with more blocks than written") {
  const auto compression = GENERATE(Compression::none, Compression::zstd);
  const auto flush_every = GENERATE(std::size_t{1}, std::size_t{3});
  TempDir dir;
  const auto blocks = sample_blocks();
  const Bytes file = write_recording(dir / "a.vhmrec", compression, blocks, flush_every);
  const std::size_t header_end = header_size(file);
  for (std::size_t cut = 0; cut < file.size(); ++cut) {
    INFO("cut at " << cut << " of " << file.size());
    const auto r = read_memory(Bytes(file.begin(), file.begin() + static_cast<std::ptrdiff_t>(cut)));
    if (cut < header_end) {
      CHECK(!r.opened);
      CHECK(r.open_error.find("truncated") != std::string::npos);
      continue;
    }
    REQUIRE(r.opened);
    CHECK(r.status == ReadStatus::truncated);
    CHECK(!r.trailer);
    REQUIRE(r.blocks.size() <= blocks.size());
    for (std::size_t i = 0; i < r.blocks.size(); ++i) CHECK(same_block(r.blocks[i], blocks[i]));
  }
  CHECK(read_memory(file).status == ReadStatus::complete);
}

TEST_CASE("robustness: every single-bit flip is noticed and nothing crashes") {
  const auto compression = GENERATE(Compression::none, Compression::zstd);
  TempDir dir;
  const auto blocks = sample_blocks();
  const Bytes file = write_recording(dir / "a.vhmrec", compression, blocks, 2);
  const std::size_t header_end = header_size(file);
  for (std::size_t at = 0; at < file.size(); ++at) {
    INFO("flip at " << at);
    Bytes damaged = file;
    damaged[at] ^= static_cast<std::uint8_t>(1u << (at % 8));
    const auto r = read_memory(damaged);
    if (at < header_end) {
      CHECK(!r.opened);  // magic, version, reserved bytes and JSON are all under the header CRC
      continue;
    }
    REQUIRE(r.opened);
    if (compression == Compression::none) CHECK(r.status != ReadStatus::complete);
    if (r.status == ReadStatus::complete) {  // zstd: only if the flip did not change a decoded byte
      REQUIRE(r.blocks.size() == blocks.size());
      for (std::size_t i = 0; i < blocks.size(); ++i) CHECK(same_block(r.blocks[i], blocks[i]));
    }
    for (std::size_t i = 0; i < std::min(r.blocks.size(), blocks.size()); ++i) CHECK(r.blocks[i].payload.size() <= max_block_payload);
  }
}

TEST_CASE("robustness: header errors say what is wrong") {
  Bytes file = preamble_bytes() + trailer_bytes();
  CHECK(read_memory(file).status == ReadStatus::complete);

  SECTION("bad magic") {
    file[0] = 'X';
    CHECK(read_memory(file).open_error == "not a vnc-hooks-manager recording (bad magic)");
    CHECK(read_memory(bytes_of("GIF89a")).open_error == "not a vnc-hooks-manager recording (bad magic)");
  }
  SECTION("empty and short") {
    CHECK(read_memory({}).open_error.find("truncated") != std::string::npos);
    CHECK(read_memory(bytes_of("VHM-R")).open_error == "header truncated");
  }
  SECTION("newer major version") {
    file[9] = 2;
    CHECK(read_memory(file).open_error == "format version 2.0 is newer than this program reads (1.x)");
  }
  SECTION("a newer minor version with unknown keys and block types reads") {
    std::string json = header_to_json(sample_header());
    json.insert(1, "\"future_key\":{\"x\":[1,2]},");
    Bytes pre(file_magic.begin(), file_magic.end());
    codec::put_u16(pre, 1);
    codec::put_u16(pre, 7);
    pre.insert(pre.end(), {0, 0, 0, 0});
    codec::put_u32(pre, static_cast<std::uint32_t>(json.size()));
    pre.insert(pre.end(), json.begin(), json.end());
    codec::put_u32(pre, codec::crc32(pre));
    const auto r = read_memory(pre + block_bytes(42, 5, "from the future") + block_bytes(1, 6, "data") + trailer_bytes(6));
    REQUIRE(r.opened);
    CHECK(r.status == ReadStatus::complete);
    REQUIRE(r.blocks.size() == 1);
    CHECK(r.blocks[0].payload == bytes_of("data"));
  }
  SECTION("hostile header length") {
    file[16] = 0xff;
    CHECK(read_memory(file).open_error.find("header JSON length 4278") != std::string::npos);
  }
  SECTION("header CRC") {
    file[25] ^= 1;
    CHECK(read_memory(file).open_error == "header CRC mismatch");
  }
  SECTION("the file name prefixes errors of files") {
    TempDir dir;
    file[0] = 'X';
    write_bytes(dir / "x.vhmrec", file);
    CHECK(read_path(dir / "x.vhmrec").open_error == (dir / "x.vhmrec").string() + ": not a vnc-hooks-manager recording (bad magic)");
    CHECK(read_path(dir / "missing.vhmrec").open_error.find("No such file or directory") != std::string::npos);
  }
}

TEST_CASE("robustness: block errors name the block's offset") {
  const Bytes pre = preamble_bytes();
  const std::string at = "block at byte " + std::to_string(pre.size());

  SECTION("CRC mismatch") {
    Bytes b = block_bytes(1, 0, "payload");
    b[14] ^= 0x20;
    const auto r = read_memory(pre + b + trailer_bytes());
    CHECK(r.status == ReadStatus::corrupt);
    CHECK(r.error == at + ": CRC mismatch");
  }
  SECTION("hostile payload length, decided before waiting for the bytes") {
    Bytes b = block_bytes(1, 0, "");
    b[9] = b[10] = b[11] = b[12] = 0xff;
    const auto r = read_memory(pre + b);
    CHECK(r.status == ReadStatus::corrupt);
    CHECK(r.error == at + ": payload length 4294967295 exceeds the limit of 4194304");
  }
  SECTION("time going backwards") {
    const auto r = read_memory(pre + block_bytes(1, 500, "a") + block_bytes(1, 499, "b") + trailer_bytes(600));
    CHECK(r.status == ReadStatus::corrupt);
    CHECK(r.blocks.size() == 1);
    CHECK(r.error.find("time goes backwards (499 after 500)") != std::string::npos);
  }
  SECTION("the trailer before a block's time") {
    const auto r = read_memory(pre + block_bytes(1, 500, "a") + trailer_bytes(400));
    CHECK(r.status == ReadStatus::corrupt);
  }
  SECTION("unknown block types are skipped") {
    const auto r = read_memory(pre + block_bytes(1, 1, "a") + block_bytes(0, 2, "zero") + block_bytes(200, 3, "x") +
                               block_bytes(2, 4, "b") + trailer_bytes(5));
    CHECK(r.status == ReadStatus::complete);
    REQUIRE(r.blocks.size() == 2);
    CHECK(r.blocks[1].payload == bytes_of("b"));
  }
  SECTION("data after the trailer") {
    const Bytes complete = pre + block_bytes(1, 1, "a") + trailer_bytes(5);
    const auto r = read_memory(complete + Bytes{0});
    CHECK(r.status == ReadStatus::corrupt);
    CHECK(r.error == "data after the trailer at byte " + std::to_string(complete.size()));
    CHECK(!r.trailer);
    CHECK(read_memory(complete + block_bytes(1, 6, "b")).status == ReadStatus::corrupt);
  }
  SECTION("a trailer that is not JSON") {
    const auto r = read_memory(pre + block_bytes(4, 1, "{nope"));
    CHECK(r.status == ReadStatus::corrupt);
    CHECK(r.error.find("trailer JSON") != std::string::npos);
  }
  SECTION("a file ending inside a block") {
    const Bytes b = block_bytes(1, 1, "abcdef");
    const auto r = read_memory(pre + Bytes(b.begin(), b.end() - 2));
    CHECK(r.status == ReadStatus::truncated);
    CHECK(r.error == "file ends inside the block at byte " + std::to_string(pre.size()));
  }
  SECTION("a status repeats once reached") {
    std::string error;
    auto reader = RecordingReader::from_memory(pre + block_bytes(1, 1, "a"), error);
    REQUIRE(reader);
    Block b;
    CHECK(reader->next(b, error) == ReadStatus::block);
    CHECK(reader->next(b, error) == ReadStatus::truncated);
    CHECK(reader->next(b, error) == ReadStatus::truncated);
    CHECK(error == "file ends after 1 blocks, without a trailer");
  }
}

TEST_CASE("robustness: zstd frames") {
  const Bytes pre = preamble_bytes(Compression::zstd);
  const Bytes a = block_bytes(1, 1, "first"), b = block_bytes(1, 2, "second");

  SECTION("several whole blocks per frame, several frames") {
    const auto r = read_memory(pre + zstd_frame(a + b) + zstd_frame(block_bytes(3, 3, "note") + trailer_bytes(4)));
    CHECK(r.status == ReadStatus::complete);
    CHECK(r.blocks.size() == 3);
  }
  SECTION("a block split across frames") {
    const Bytes ab = a + b;
    const Bytes head(ab.begin(), ab.begin() + 25), tail(ab.begin() + 25, ab.end());
    const auto r = read_memory(pre + zstd_frame(head) + zstd_frame(tail + trailer_bytes(4)));
    CHECK(r.status == ReadStatus::corrupt);
    CHECK(r.blocks.size() == 1);
    CHECK(r.error.find("block split across zstd frames") != std::string::npos);
  }
  SECTION("a frame after the trailer's frame") {
    const auto r = read_memory(pre + zstd_frame(a + trailer_bytes(4)) + zstd_frame(b));
    CHECK(r.status == ReadStatus::corrupt);
  }
  SECTION("a block after the trailer in the same frame") {
    const auto r = read_memory(pre + zstd_frame(a + trailer_bytes(4) + b));
    CHECK(r.status == ReadStatus::corrupt);
    CHECK(r.error.find("after the trailer") != std::string::npos);
  }
  SECTION("a bad frame: its blocks never differ from those of a cut before the damage") {
    // The frame's optional checksum is wrong. A cut before the checksum reads
    // three blocks, truncated. The whole frame is corrupt; zstd decodes a
    // frame that is all there in one go and then gives nothing of it, so the
    // whole file may read fewer blocks (fuzz: record_reader), never others.
    const Bytes content = a + b + block_bytes(3, 3, "third");
    Bytes frame(ZSTD_compressBound(content.size()));
    ZSTD_CCtx* cctx = ZSTD_createCCtx();
    ZSTD_CCtx_setParameter(cctx, ZSTD_c_checksumFlag, 1);
    frame.resize(ZSTD_compress2(cctx, frame.data(), frame.size(), content.data(), content.size()));
    ZSTD_freeCCtx(cctx);
    frame.back() ^= 1;
    const auto whole = read_memory(pre + frame);
    CHECK(whole.status == ReadStatus::corrupt);
    CHECK(whole.error.find("checksum") != std::string::npos);
    const auto cut = read_memory(pre + Bytes(frame.begin(), frame.end() - 4));
    CHECK(cut.status == ReadStatus::truncated);
    REQUIRE(cut.blocks.size() == 3);
    REQUIRE(whole.blocks.size() <= 3);
    for (std::size_t i = 0; i < whole.blocks.size(); ++i) CHECK(same_block(whole.blocks[i], cut.blocks[i]));
  }
  SECTION("bytes that are not zstd") {
    const auto r = read_memory(pre + a);
    CHECK(r.status == ReadStatus::corrupt);
    CHECK(r.error.find("zstd frame at byte " + std::to_string(pre.size())) == 0);
  }
  SECTION("a frame holding more than the limit is refused") {
    Bytes content;
    const Bytes zeros(max_block_payload, 0);
    Bytes one;
    codec::append_block(one, 1, 0, zeros);
    while (content.size() <= max_zstd_frame_content) content.insert(content.end(), one.begin(), one.end());
    const auto r = read_memory(pre + zstd_frame(content));
    CHECK(r.status == ReadStatus::corrupt);
    CHECK(r.error.find("holds more than 67108864 bytes") != std::string::npos);
    CHECK(r.blocks.size() <= 16);
  }
}
