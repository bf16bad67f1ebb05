// The event spool's segment reader (broker/spool/spool_format.hpp): what it
// reads back from disk after a crash or from a damaged file. Beyond not
// crashing: the records are whole, in order and cover exactly valid_bytes,
// which re-encode to the same bytes; any prefix of the input reads as a
// prefix of the same records (a torn tail loses records at its end, never
// changes them); the commit file and the stored event fields parse without
// harm. Each input runs twice: as it is, and with every record's CRC made
// right, so mutations get past the CRCs into the length and order checks.
#include <string>
#include <string_view>

#include <zlib.h>

#include "broker/spool/spool_format.hpp"
#include "fuzz/support/check.hpp"

namespace {

using namespace vhm::broker;

std::uint32_t read_u32(std::string_view bytes, std::size_t at) {
  std::uint32_t value = 0;
  for (int i = 3; i >= 0; --i) value = (value << 8) | static_cast<unsigned char>(bytes[at + i]);
  return value;
}

// Rewrites each record's CRC so the rest of its header and payload count.
std::string with_crcs_fixed(std::string bytes) {
  std::size_t at = 0;
  while (bytes.size() - at >= spool_record_header) {
    const std::size_t length = read_u32(bytes, at);
    if (length > spool_max_payload || bytes.size() - at - spool_record_header < length) break;
    const auto crc = static_cast<std::uint32_t>(
        ::crc32(0, reinterpret_cast<const Bytef*>(bytes.data() + at + 8), static_cast<uInt>(16 + length)));
    for (int i = 0; i < 4; ++i) bytes[at + 4 + i] = static_cast<char>((crc >> (8 * i)) & 0xff);
    at += spool_record_header + length;
  }
  return bytes;
}

void check_segment(std::string_view bytes) {
  const auto parsed = parse_spool_records(bytes);
  VHM_FUZZ_CHECK(parsed.valid_bytes <= bytes.size(), "valid_bytes beyond the input");
  VHM_FUZZ_CHECK((parsed.end == SpoolParse::End::clean) == (parsed.valid_bytes == bytes.size()),
                 "clean end and whole input disagree: " + parsed.problem);
  VHM_FUZZ_CHECK(parsed.end == SpoolParse::End::clean || !parsed.problem.empty(), "an unclean end without a problem");
  std::string again;
  std::uint64_t last = 0;
  for (const auto& record : parsed.records) {
    VHM_FUZZ_CHECK(record.seq > last, "sequence not increasing");
    VHM_FUZZ_CHECK(record.size == spool_record_header + record.payload.size(), "record size");
    last = record.seq;
    append_spool_record(again, record.seq, record.time_ms, record.payload);
    (void)decode_spooled_event(record.payload);
  }
  VHM_FUZZ_CHECK(again == bytes.substr(0, parsed.valid_bytes), "records do not re-encode to their bytes");
  // A cut inside the input keeps the records before the cut unchanged.
  const auto cut = bytes.size() / 2;
  const auto prefix = parse_spool_records(bytes.substr(0, cut));
  VHM_FUZZ_CHECK(prefix.records.size() <= parsed.records.size(), "a prefix has more records");
  for (std::size_t i = 0; i < prefix.records.size(); ++i)
    VHM_FUZZ_CHECK(prefix.records[i].seq == parsed.records[i].seq &&
                       prefix.records[i].payload == parsed.records[i].payload,
                   "a prefix reads other records");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  check_segment(bytes);
  check_segment(with_crcs_fixed(std::string(bytes)));
  if (const auto seq = parse_commit_file(bytes)) VHM_FUZZ_CHECK(*seq == *parse_commit_file(bytes), "commit parse");
  return 0;
}
