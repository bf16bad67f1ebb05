#include "broker/spool/spool_format.hpp"

#include <zlib.h>

#include <cstring>

namespace vhm::broker {
namespace {

constexpr std::uint32_t spool_commit_magic = 0x56484d43;  // "VHMC"

void put_u32(std::string& out, std::uint32_t value) {
  for (int i = 0; i < 4; ++i) out += static_cast<char>((value >> (8 * i)) & 0xff);
}
void put_u64(std::string& out, std::uint64_t value) {
  for (int i = 0; i < 8; ++i) out += static_cast<char>((value >> (8 * i)) & 0xff);
}
std::uint64_t get_le(std::string_view bytes, std::size_t at, int width) {
  std::uint64_t value = 0;
  for (int i = width - 1; i >= 0; --i) value = (value << 8) | static_cast<unsigned char>(bytes[at + i]);
  return value;
}
std::uint32_t crc_of(std::string_view bytes, std::uint32_t crc = 0) {
  // zlib's crc32 takes a uInt length: fine, a record is at most spool_max_payload.
  return static_cast<std::uint32_t>(
      ::crc32(crc, reinterpret_cast<const Bytef*>(bytes.data()), static_cast<uInt>(bytes.size())));
}

}  // namespace

SpoolParse parse_spool_records(std::string_view bytes, std::uint64_t after_seq) {
  SpoolParse result;
  std::size_t at = 0;
  std::uint64_t last = after_seq;
  while (at < bytes.size()) {
    const auto rest = bytes.size() - at;
    if (rest < spool_record_header) {
      result.end = SpoolParse::End::torn;
      result.problem = "a torn record header at offset " + std::to_string(at);
      break;
    }
    const auto length = static_cast<std::size_t>(get_le(bytes, at, 4));
    const auto crc = static_cast<std::uint32_t>(get_le(bytes, at + 4, 4));
    if (length > spool_max_payload) {
      result.end = SpoolParse::End::corrupt;
      result.problem = "an impossible record length at offset " + std::to_string(at);
      break;
    }
    if (rest - spool_record_header < length) {
      result.end = SpoolParse::End::torn;
      result.problem = "a torn record at offset " + std::to_string(at);
      break;
    }
    const auto covered = bytes.substr(at + 8, spool_record_header - 8 + length);
    if (crc_of(covered) != crc) {
      result.end = SpoolParse::End::corrupt;
      result.problem = "a record failing its CRC at offset " + std::to_string(at);
      break;
    }
    const auto seq = get_le(bytes, at + 8, 8);
    if (seq <= last) {
      result.end = SpoolParse::End::corrupt;
      result.problem = "a record out of order at offset " + std::to_string(at);
      break;
    }
    SpoolRecordView record;
    record.seq = seq;
    record.time_ms = static_cast<std::int64_t>(get_le(bytes, at + 16, 8));
    record.payload = bytes.substr(at + spool_record_header, length);
    record.size = spool_record_header + length;
    result.records.push_back(record);
    last = seq;
    at += record.size;
    result.valid_bytes = at;
  }
  return result;
}

void append_spool_record(std::string& out, std::uint64_t seq, std::int64_t time_ms, std::string_view payload) {
  std::string covered;
  covered.reserve(16 + payload.size());
  put_u64(covered, seq);
  put_u64(covered, static_cast<std::uint64_t>(time_ms));
  covered.append(payload);
  put_u32(out, static_cast<std::uint32_t>(payload.size()));
  put_u32(out, crc_of(covered));
  out += covered;
}

std::string encode_commit_slot(std::uint64_t seq) {
  std::string slot;
  put_u64(slot, seq);
  put_u32(slot, crc_of(slot));
  put_u32(slot, spool_commit_magic);
  return slot;
}

std::optional<std::uint64_t> parse_commit_slot(std::string_view slot) {
  if (slot.size() < spool_commit_slot) return std::nullopt;
  if (get_le(slot, 12, 4) != spool_commit_magic) return std::nullopt;
  if (get_le(slot, 8, 4) != crc_of(slot.substr(0, 8))) return std::nullopt;
  return get_le(slot, 0, 8);
}

std::optional<std::uint64_t> parse_commit_file(std::string_view bytes) {
  std::optional<std::uint64_t> newest;
  for (std::size_t at = 0; at < 2 * spool_commit_slot_stride && at < bytes.size(); at += spool_commit_slot_stride)
    if (const auto seq = parse_commit_slot(bytes.substr(at, spool_commit_slot)))
      if (!newest || *seq > *newest) newest = seq;
  return newest;
}

// kind \n session_id \n host \n json: none of the first three holds a line
// break (names and ids), and event_to_json escapes every control character.
std::string encode_spooled_event(const SpooledEvent& event) {
  std::string out;
  out.reserve(event.kind.size() + event.session_id.size() + event.host.size() + event.json.size() + 3);
  out.append(event.kind).append(1, '\n').append(event.session_id).append(1, '\n');
  out.append(event.host).append(1, '\n').append(event.json);
  return out;
}

std::optional<SpooledEvent> decode_spooled_event(std::string_view payload) {
  SpooledEvent event;
  std::string* parts[] = {&event.kind, &event.session_id, &event.host};
  for (auto* part : parts) {
    const auto end = payload.find('\n');
    if (end == std::string_view::npos) return std::nullopt;
    part->assign(payload.substr(0, end));
    payload.remove_prefix(end + 1);
  }
  if (event.kind.empty()) return std::nullopt;
  event.json.assign(payload);
  return event;
}

}  // namespace vhm::broker
