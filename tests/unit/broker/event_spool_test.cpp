// broker/event_spool.hpp in a temp dir: order, commit and restart, a torn or
// corrupt tail after a crash, a full spool dropping the oldest.
#include <catch2/catch.hpp>

#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "broker/event_spool.hpp"
#include "broker/spool/spool_format.hpp"

namespace {

namespace fs = std::filesystem;
using vhm::broker::EventSpool;
using vhm::broker::SpoolRecord;

struct TempDir {
  fs::path path;
  TempDir() {
    std::string pattern = (fs::temp_directory_path() / "vhm-spool-XXXXXX").string();
    path = ::mkdtemp(pattern.data());
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

std::vector<std::string> numbered(int from, int to, std::size_t width = 40) {
  std::vector<std::string> out;
  for (int i = from; i < to; ++i) {
    auto text = "event " + std::to_string(i) + " ";
    text.resize(std::max(text.size(), width), 'x');
    out.push_back(text);
  }
  return out;
}

std::vector<std::string> payloads_of(const std::vector<SpoolRecord>& records) {
  std::vector<std::string> out;
  for (const auto& record : records) out.push_back(record.payload);
  return out;
}

std::vector<fs::path> segment_files(const fs::path& dir) {
  std::vector<fs::path> out;
  for (const auto& entry : fs::directory_iterator(dir))
    if (entry.path().filename().string().starts_with("segment-")) out.push_back(entry.path());
  std::sort(out.begin(), out.end());
  return out;
}

std::string spool_error;

}  // namespace

TEST_CASE("event spool: records come back in order, a restart resends exactly what was not committed") {
  TempDir dir;
  const auto events = numbered(0, 10);
  {
    EventSpool spool;
    REQUIRE(spool.open(dir.path / "spool", 1u << 20, spool_error));
    REQUIRE(spool.append({events.begin(), events.begin() + 4}, 1000));
    REQUIRE(spool.append({events.begin() + 4, events.end()}, 2000));
    auto first = spool.read(0, 3, 1u << 20);
    CHECK(payloads_of(first) == std::vector<std::string>(events.begin(), events.begin() + 3));
    // The reader's cursor follows on; a smaller after_seq reads again from there.
    auto next = spool.read(first.back().seq, 100, 1u << 20);
    CHECK(payloads_of(next) == std::vector<std::string>(events.begin() + 3, events.end()));
    CHECK(spool.read(first.front().seq, 1, 1u << 20).front().payload == events[1]);
    REQUIRE(spool.commit(next[2].seq));  // events 0..5 acknowledged
    const auto stats = spool.stats();
    CHECK(stats.events == 4);
    CHECK(stats.oldest_time_ms == 2000);
    CHECK(stats.bytes == 4 * (vhm::broker::spool_record_header + 40));
  }
  EventSpool again;
  REQUIRE(again.open(dir.path / "spool", 1u << 20, spool_error));
  CHECK(again.stats().events == 4);
  const auto rest = again.read(0, 100, 1u << 20);
  CHECK(payloads_of(rest) == std::vector<std::string>(events.begin() + 6, events.end()));
  // New events follow the old ones.
  REQUIRE(again.append({"after restart"}, 3000));
  const auto all = again.read(0, 100, 1u << 20);
  REQUIRE(all.size() == 5);
  CHECK(all.back().payload == "after restart");
  CHECK(all.back().seq > rest.back().seq);
  REQUIRE(again.commit(all.back().seq));
  CHECK(again.stats().events == 0);
  CHECK(again.stats().oldest_time_ms == 0);
}

TEST_CASE("event spool: a torn last record (a crash mid-write) is dropped, the rest is kept") {
  TempDir dir;
  {
    EventSpool spool;
    REQUIRE(spool.open(dir.path, 1u << 20, spool_error));
    REQUIRE(spool.append(numbered(0, 5), 1000));
  }
  const auto files = segment_files(dir.path);
  REQUIRE(files.size() == 1);
  const auto size = fs::file_size(files[0]);
  fs::resize_file(files[0], size - 7);  // half of the last record
  EventSpool spool;
  REQUIRE(spool.open(dir.path, 1u << 20, spool_error));
  CHECK(payloads_of(spool.read(0, 100, 1u << 20)) == numbered(0, 4));
  CHECK(fs::file_size(files[0]) == size - (vhm::broker::spool_record_header + 40));  // cut back to the good records
  REQUIRE(spool.append({"next"}, 2000));
  const auto records = spool.read(0, 100, 1u << 20);
  REQUIRE(records.size() == 5);
  CHECK(records.back().payload == "next");
}

TEST_CASE("event spool: a corrupt byte drops that record and what follows it in the file, never crashes") {
  TempDir dir;
  {
    EventSpool spool;
    REQUIRE(spool.open(dir.path, 1u << 20, spool_error));
    REQUIRE(spool.append(numbered(0, 5), 1000));
  }
  const auto file = segment_files(dir.path).at(0);
  {
    std::fstream stream(file, std::ios::in | std::ios::out | std::ios::binary);
    stream.seekp(2 * (vhm::broker::spool_record_header + 40) + 30);  // inside the third record's payload
    stream.put('#');
  }
  EventSpool spool;
  REQUIRE(spool.open(dir.path, 1u << 20, spool_error));
  CHECK(payloads_of(spool.read(0, 100, 1u << 20)) == numbered(0, 2));
  // Garbage that claims a huge length, appended by hand, is cut off as well.
  {
    std::ofstream stream(file, std::ios::app | std::ios::binary);
    stream << std::string(30, '\xff');
  }
  EventSpool reopened;
  REQUIRE(reopened.open(dir.path, 1u << 20, spool_error));
  CHECK(reopened.stats().events == 2);
}

TEST_CASE("event spool: when full, the oldest events are dropped and counted; the bound holds") {
  TempDir dir;
  constexpr std::size_t max_bytes = 64u << 10;
  EventSpool spool;
  REQUIRE(spool.open(dir.path, max_bytes, spool_error));
  const auto events = numbered(0, 1000, 200);  // 224 bytes each on disk: about 220 KiB
  for (std::size_t i = 0; i < events.size(); i += 10)
    REQUIRE(spool.append({events.begin() + static_cast<long>(i), events.begin() + static_cast<long>(i + 10)}, 1000));
  const auto stats = spool.stats();
  CHECK(stats.disk_bytes <= max_bytes);
  CHECK(stats.dropped > 0);
  CHECK(stats.dropped + stats.events == 1000);
  std::size_t on_disk = 0;
  for (const auto& file : segment_files(dir.path)) on_disk += fs::file_size(file);
  CHECK(on_disk <= max_bytes);
  // What is left is the newest events, in order, without a gap.
  const auto records = spool.read(0, 10'000, 1u << 30);
  REQUIRE(records.size() == stats.events);
  CHECK(records.back().payload == events.back());
  CHECK(records.front().payload == events[stats.dropped]);
  // An event larger than the whole spool is dropped on its own.
  spool.append({std::string(max_bytes + 1, 'y')}, 1000);
  CHECK(spool.stats().dropped == stats.dropped + 1);
}

TEST_CASE("event spool: acknowledged segments are deleted; a reader whose place was dropped starts at the oldest") {
  TempDir dir;
  EventSpool spool;
  REQUIRE(spool.open(dir.path, 64u << 10, spool_error));  // 4 KiB segments
  for (int i = 0; i < 20; ++i) REQUIRE(spool.append(numbered(i * 10, i * 10 + 10, 100), 1000));
  CHECK(segment_files(dir.path).size() > 3);
  const auto all = spool.read(0, 10'000, 1u << 30);
  REQUIRE(spool.commit(all[150].seq));
  CHECK(spool.stats().events == 49);
  std::size_t on_disk = 0;
  for (const auto& file : segment_files(dir.path)) on_disk += fs::file_size(file);
  CHECK(on_disk < 49 * 124 + 2 * 4096);
  CHECK(spool.read(0, 1, 1u << 20).front().seq == all[151].seq);
}

TEST_CASE("event spool: a directory it cannot use is an error, not a crash") {
  TempDir dir;
  const auto file = dir.path / "a-file";
  std::ofstream(file) << "x";
  EventSpool spool;
  std::string error;
  CHECK_FALSE(spool.open(file / "spool", 1u << 20, error));
  CHECK_THAT(error, Catch::Contains("a-file"));
}

TEST_CASE("spool format: commit slots survive a torn write; spooled events round-trip") {
  using namespace vhm::broker;
  std::string file(2 * spool_commit_slot_stride, '\0');
  file.replace(0, spool_commit_slot, encode_commit_slot(41));
  file.replace(spool_commit_slot_stride, spool_commit_slot, encode_commit_slot(42));
  CHECK(parse_commit_file(file) == 42u);
  file[spool_commit_slot_stride + 3] ^= 1;  // the newer slot torn: the older one counts
  CHECK(parse_commit_file(file) == 41u);
  CHECK_FALSE(parse_commit_file(std::string(20, 'z')));
  const SpooledEvent event{"connect", "abc123", "proxy-1", R"({"event":"connect","x":"a\nb"})"};
  const auto decoded = decode_spooled_event(encode_spooled_event(event));
  REQUIRE(decoded);
  CHECK(decoded->kind == "connect");
  CHECK(decoded->session_id == "abc123");
  CHECK(decoded->host == "proxy-1");
  CHECK(decoded->json == event.json);
  CHECK_FALSE(decode_spooled_event("no line breaks"));
  // Records: any prefix of a valid file parses to its whole records.
  std::string bytes;
  append_spool_record(bytes, 1, 10, "one");
  append_spool_record(bytes, 2, 20, "two");
  for (std::size_t cut = 0; cut <= bytes.size(); ++cut) {
    const auto parsed = parse_spool_records(std::string_view(bytes).substr(0, cut));
    CHECK(parsed.records.size() == (cut >= bytes.size() ? 2u : cut >= spool_record_header + 3 ? 1u : 0u));
    CHECK(parsed.end == (cut == 0 || cut == spool_record_header + 3 || cut == bytes.size() ? SpoolParse::End::clean
                                                                                          : SpoolParse::End::torn));
  }
  CHECK(parse_spool_records(bytes, 1).end == SpoolParse::End::corrupt);  // sequence 1 is not above 1
}

TEST_CASE("event spool: appends without an fsync are readable at once and durable after sync()") {
  TempDir dir;
  {
    EventSpool spool;
    REQUIRE(spool.open(dir.path, 64u << 10, spool_error));
    int written_calls = 0;
    for (int i = 0; i < 10; ++i)  // more than one 4 KiB segment: rolled segments are synced too
      REQUIRE(spool.append(numbered(i * 10, i * 10 + 10, 100), 1000, [&] { ++written_calls; }, false));
    CHECK(written_calls == 10);
    CHECK(spool.read(0, 1000, 1u << 20).size() == 100);
    spool.sync();
  }
  EventSpool again;
  REQUIRE(again.open(dir.path, 64u << 10, spool_error));
  CHECK(payloads_of(again.read(0, 1000, 1u << 20)) == numbered(0, 100, 100));
}
