#pragma once
// The spool's on-disk format (docs/fleet.md), pure: bytes in, records out.
// A segment file is a sequence of records, each
//   u32 payload length | u32 CRC-32 (zlib) of the rest | u64 sequence | i64 unix ms | payload
// (little-endian). A crash can leave a torn last record, and a disk can hand
// back garbage: the reader stops at the first record that is incomplete or
// fails its length, CRC or order check and says so; what came before is good.
// The commit file holds two slots (written alternately) of
//   u64 acknowledged sequence | u32 CRC-32 of it | u32 magic
// so a torn slot write leaves the other, older one.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace vhm::broker {

inline constexpr std::size_t spool_record_header = 24;
inline constexpr std::size_t spool_max_payload = 16u << 20;  // an event is a few KiB at most
inline constexpr std::size_t spool_commit_slot = 16;
inline constexpr std::size_t spool_commit_slot_stride = 512;  // one sector each: a write tears at most one

struct SpoolRecordView {
  std::uint64_t seq = 0;
  std::int64_t time_ms = 0;
  std::string_view payload;  // into the parsed bytes
  std::size_t size = 0;      // on disk, header included
};

struct SpoolParse {
  enum class End : std::uint8_t { clean, torn, corrupt };
  std::vector<SpoolRecordView> records;
  std::size_t valid_bytes = 0;  // the records' bytes; anything after them is to be dropped
  End end = End::clean;
  std::string problem;          // for the log when end != clean
};

// Records of one segment's bytes. `after_seq`: every sequence must be above
// it and above the one before (a record that goes back is corruption).
SpoolParse parse_spool_records(std::string_view bytes, std::uint64_t after_seq = 0);

// Appends one record to `out`.
void append_spool_record(std::string& out, std::uint64_t seq, std::int64_t time_ms, std::string_view payload);

std::string encode_commit_slot(std::uint64_t seq);
std::optional<std::uint64_t> parse_commit_slot(std::string_view slot);
// The newest valid slot of a whole commit file; nullopt: none (a new spool).
std::optional<std::uint64_t> parse_commit_file(std::string_view bytes);

// What the publisher stores per event: the stream entry's fields, so an event
// spooled before a restart is sent as it was (kind, session id, host, JSON).
struct SpooledEvent {
  std::string kind;
  std::string session_id;
  std::string host;
  std::string json;
};
std::string encode_spooled_event(const SpooledEvent& event);
std::optional<SpooledEvent> decode_spooled_event(std::string_view payload);

}  // namespace vhm::broker
