// A recording file (record/reader.hpp) from memory, header to last block.
// Beyond not crashing: every block is within the limits with a known type
// and a time that never goes backwards; a final status repeats; `complete`
// and the trailer go together; a parsed header and trailer survive their JSON
// round trip unchanged; and any prefix of the input reads as a prefix of the
// same blocks (a cut file loses blocks at its end, never changes them; a
// corrupt zstd frame may yield fewer blocks than a cut of it, never others).
// Each input runs twice: as it is, and with its CRCs made right (header and
// uncompressed blocks), so mutations get past the CRCs into the JSON and the
// block rules instead of stopping at "CRC mismatch".
#include <algorithm>
#include <string>
#include <vector>

#include "fuzz/support/check.hpp"
#include "record/block_codec.hpp"
#include "record/header_json.hpp"
#include "record/reader.hpp"

namespace {

using namespace vhm::record;

struct Outcome {
  bool opened = false;
  std::vector<Block> blocks;
  ReadStatus status = ReadStatus::corrupt;
  std::string error;
};

Outcome read_all(const std::uint8_t* data, std::size_t size, bool check) {
  Outcome o;
  std::string error;
  auto reader = RecordingReader::from_memory(std::vector<std::uint8_t>(data, data + size), error);
  if (!reader) {
    VHM_FUZZ_CHECK(!error.empty(), "open failed without a message");
    return o;
  }
  o.opened = true;
  Block block;
  std::uint64_t last_time = 0;
  for (;;) {
    o.status = reader->next(block, o.error);
    if (o.status != ReadStatus::block) break;
    if (check) {
      VHM_FUZZ_CHECK(block.payload.size() <= max_block_payload, std::to_string(block.payload.size()));
      VHM_FUZZ_CHECK(block.type == BlockType::server_data || block.type == BlockType::viewer_data ||
                         block.type == BlockType::note,
                     std::to_string(static_cast<int>(block.type)));
      VHM_FUZZ_CHECK(block.time_us >= last_time, std::to_string(block.time_us));
      VHM_FUZZ_CHECK(reader->file_offset() <= size, std::to_string(reader->file_offset()));
    }
    last_time = block.time_us;
    o.blocks.push_back(block);
  }
  if (!check) return o;
  VHM_FUZZ_CHECK((o.status == ReadStatus::complete) == reader->trailer().has_value(), o.error);
  VHM_FUZZ_CHECK((o.status == ReadStatus::complete) == o.error.empty(), o.error);
  std::string again;
  VHM_FUZZ_CHECK(reader->next(block, again) == o.status && again == o.error, again + " / " + o.error);

  std::string why;
  const Header& h = reader->header();
  const auto back = header_from_json(header_to_json(h), why);
  VHM_FUZZ_CHECK(back.has_value(), why);
  VHM_FUZZ_CHECK(back->compression == h.compression && back->start_unix_us == h.start_unix_us &&
                     back->session == h.session && back->rfb_version == h.rfb_version &&
                     back->security_type == h.security_type && back->content_visible == h.content_visible &&
                     back->not_visible_reason == h.not_visible_reason && back->include_input == h.include_input &&
                     back->server_init.width == h.server_init.width && back->server_init.height == h.server_init.height &&
                     back->server_init.pixel_format == h.server_init.pixel_format &&
                     back->server_init.desktop_name == h.server_init.desktop_name &&
                     back->viewer_pixel_format == h.viewer_pixel_format && back->viewer_encodings == h.viewer_encodings,
                 header_to_json(h) + "\n" + header_to_json(*back));
  (void)describe(h.server_init.pixel_format);
  if (const auto& t = reader->trailer()) {
    const auto tb = trailer_from_json(trailer_to_json(*t), why);
    VHM_FUZZ_CHECK(tb && tb->duration_us == t->duration_us && tb->server_bytes == t->server_bytes &&
                       tb->dropped_bytes == t->dropped_bytes && tb->end_reason == t->end_reason,
                   trailer_to_json(*t));
  }
  return o;
}

// Rewrites the header CRC and, for uncompressed files, each block's CRC
// wherever the lengths leave room for one.
std::vector<std::uint8_t> with_good_crcs(const std::uint8_t* data, std::size_t size) {
  namespace codec = vhm::record::codec;
  std::vector<std::uint8_t> bytes(data, data + size);
  if (size < codec::preamble_fixed_size) return bytes;
  const auto set_crc = [&](std::size_t from, std::size_t length) {
    const std::uint32_t crc = codec::crc32(std::span(bytes).subspan(from, length));
    for (int i = 0; i < 4; ++i) bytes[from + length + i] = static_cast<std::uint8_t>(crc >> (24 - 8 * i));
  };
  const std::uint64_t header = codec::preamble_fixed_size + std::uint64_t{codec::get_u32(bytes.data() + 16)};
  if (header + codec::crc_size > size) return bytes;
  set_crc(0, header);
  if (bytes[12] != 0) return bytes;
  for (std::uint64_t at = header + codec::crc_size; at + codec::block_head_size <= size;) {
    const std::uint64_t length = codec::block_head_size + std::uint64_t{codec::get_u32(bytes.data() + at + 9)};
    if (at + length + codec::crc_size > size) break;
    set_crc(at, length);
    at += length + codec::crc_size;
  }
  return bytes;
}

void run(const std::uint8_t* data, std::size_t size) {
  const Outcome whole = read_all(data, size, true);
  if (!whole.opened || size == 0) return;
  const std::size_t cut = size - 1 - data[size - 1] % size;  // a prefix chosen by the input
  const Outcome part = read_all(data, cut, false);
  if (!part.opened) return;
  // A proper prefix of a complete file is truncated; a complete prefix means data after the trailer.
  VHM_FUZZ_CHECK(whole.status != ReadStatus::complete || part.status == ReadStatus::truncated, part.error);
  VHM_FUZZ_CHECK(part.status != ReadStatus::complete || whole.status == ReadStatus::corrupt, whole.error);
  // zstd decodes a frame that is all in the input in one go, and gives none of
  // it when it is bad; a cut inside that frame gets its first blocks.
  const bool zstd = size > 12 && data[12] == 1;
  VHM_FUZZ_CHECK(part.blocks.size() <= whole.blocks.size() || (zstd && whole.status == ReadStatus::corrupt),
                 std::to_string(part.blocks.size()) + " > " + std::to_string(whole.blocks.size()) + ": " + whole.error);
  for (std::size_t i = 0; i < std::min(part.blocks.size(), whole.blocks.size()); ++i)
    VHM_FUZZ_CHECK(part.blocks[i].type == whole.blocks[i].type && part.blocks[i].time_us == whole.blocks[i].time_us &&
                       part.blocks[i].payload == whole.blocks[i].payload,
                   "block " + std::to_string(i) + " differs in the prefix of " + std::to_string(cut));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  run(data, size);
  const auto fixed = with_good_crcs(data, size);
  if (!std::equal(fixed.begin(), fixed.end(), data)) run(fixed.data(), fixed.size());
  return 0;
}
