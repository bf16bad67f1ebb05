// The recorder tap and its writer thread, with real files: what reaches the
// recording (and what never does), when the file is created, and how queue
// overflow and disk errors are reported.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <filesystem>
#include <thread>
#include <fstream>

#include "proxy/recording/recorder_service.hpp"
#include "proxy/recording/recorder_tap.hpp"
#include "record/reader.hpp"
#include "tests/unit/proxy/run_until.hpp"

namespace vhm::proxy {
namespace {

using namespace std::chrono_literals;
using Bytes = std::vector<std::uint8_t>;

struct TempDir {
  std::filesystem::path path;
  TempDir() {
    char pattern[] = "/tmp/vhm-recorder-XXXXXX";
    path = ::mkdtemp(pattern);
  }
  ~TempDir() { std::filesystem::remove_all(path); }
};


Bytes cat(std::initializer_list<Bytes> parts) {
  Bytes out;
  for (const auto& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

const Bytes set_pixel_format = cat({{0, 0, 0, 0}, {32, 24, 0, 1, 0, 255, 0, 255, 0, 255, 16, 8, 0, 0, 0, 0}});
const Bytes set_encodings = {2, 0, 0, 2, 0, 0, 0, 5, 0xFF, 0xFF, 0xFF, 0x11};  // Hextile, Cursor (-239)
const Bytes update_request = {3, 0, 0, 0, 0, 0, 0, 64, 0, 48};
const Bytes key_event = {4, 1, 0, 0, 0, 0, 0, 0x61};
const Bytes pointer_event = {5, 1, 0, 10, 0, 20};

// One session's tap with its events, as the session wires it.
struct TapFixture {
  TempDir dir;
  asio::io_context io;
  RecorderService service;
  conf::RecordingConfig config;
  std::vector<std::string> events;
  std::unique_ptr<RecorderTap> tap;

  explicit TapFixture(RecorderService::Limits limits = {}) : service(limits) {
    config.enabled = true;
    config.dir = dir.path;
  }
  void start(bool visible = true, Bytes viewer_after = {}, Bytes server_after = {}) {
    record::Header header;
    header.session["session_id"] = "s1";
    header.rfb_version = "3.8";
    header.security_type = "VncAuth";
    header.content_visible = visible;
    if (!visible) header.not_visible_reason = "TLS not terminated";
    header.server_init.width = 64;
    header.server_init.height = 48;
    RecorderTap::Callbacks callbacks;
    callbacks.started = [this](const auto& path) { events.push_back("started " + path.filename().string()); };
    callbacks.on_error = [this](const auto&) { events.push_back("on_error"); };
    callbacks.failed = [this](const auto& error) { events.push_back("failed " + error); };
    callbacks.finished = [this](const auto& path, std::uint64_t) { events.push_back("finished " + path.filename().string()); };
    tap = std::make_unique<RecorderTap>(service, config, header, dir.path / "s1.vhmrec", io.get_executor(), callbacks);
    tap->start(viewer_after, server_after);
  }
  void viewer(const Bytes& bytes) { tap->on_bytes(rfb::Direction::client_to_server, bytes); }
  void server(const Bytes& bytes) { tap->on_bytes(rfb::Direction::server_to_client, bytes); }
  void end(std::uint64_t server_bytes, std::uint64_t viewer_bytes) {
    bool done = false;
    tap->end("client_closed", server_bytes, viewer_bytes, [&] { done = true; });
    REQUIRE(test::run_until(io, [&] { return done; }));
  }
};

struct ReadBack {
  record::Header header;
  std::vector<record::Block> blocks;
  std::optional<record::Trailer> trailer;
  record::ReadStatus end = record::ReadStatus::corrupt;
  Bytes of(record::BlockType type) const {
    Bytes out;
    for (const auto& b : blocks)
      if (b.type == type) out.insert(out.end(), b.payload.begin(), b.payload.end());
    return out;
  }
};

ReadBack read_back(const std::filesystem::path& path) {
  std::string error;
  auto reader = record::RecordingReader::open(path, error);
  REQUIRE(reader);
  ReadBack out;
  out.header = reader->header();
  record::Block block;
  for (;;) {
    out.end = reader->next(block, error);
    if (out.end != record::ReadStatus::block) break;
    out.blocks.push_back(block);
  }
  out.trailer = reader->trailer();
  return out;
}

}  // namespace

TEST_CASE("recorder tap: the viewer's settings go into the header, input is left out, updates are kept") {
  TapFixture f;
  f.start();
  f.viewer(cat({set_pixel_format, set_encodings}));
  CHECK_FALSE(std::filesystem::exists(f.dir.path / "s1.vhmrec"));  // waits for the first request
  f.viewer(cat({update_request, key_event, pointer_event, update_request}));
  f.server({0, 0, 0, 1, 'U', 'P', 'D'});
  f.viewer(key_event);
  f.end(7, 20 + 12 + 10 + 8 + 6 + 10 + 8);
  CHECK(f.events == std::vector<std::string>{"started s1.vhmrec", "finished s1.vhmrec"});

  const auto file = read_back(f.dir.path / "s1.vhmrec");
  CHECK(file.end == record::ReadStatus::complete);
  REQUIRE(file.header.viewer_pixel_format);
  CHECK(Bytes(file.header.viewer_pixel_format->bytes.begin(), file.header.viewer_pixel_format->bytes.end()) ==
        Bytes(set_pixel_format.begin() + 4, set_pixel_format.end()));
  CHECK(file.header.viewer_encodings == std::vector<std::int32_t>{5, -239});
  CHECK_FALSE(file.header.include_input);
  CHECK(file.of(record::BlockType::viewer_data) == cat({set_pixel_format, set_encodings, update_request, update_request}));
  CHECK(file.of(record::BlockType::server_data) == Bytes{0, 0, 0, 1, 'U', 'P', 'D'});
  REQUIRE(file.trailer);
  CHECK(file.trailer->recorded_server_bytes == 7);
  CHECK(file.trailer->server_bytes == 7);
  CHECK(file.trailer->dropped_bytes == 0);
  CHECK(file.trailer->end_reason == "client_closed");
}

TEST_CASE("recorder tap: a SetEncodings too long for the header leaves the header without encodings") {
  TapFixture f;
  f.start();
  Bytes long_list = {2, 0, 0x04, 0x01};  // 1025 encodings, one more than the header keeps
  long_list.resize(4 + 4 * 1025, 0);
  f.viewer(set_encodings);
  f.viewer(long_list);
  f.viewer(update_request);
  f.end(0, set_encodings.size() + long_list.size() + update_request.size());
  const auto file = read_back(f.dir.path / "s1.vhmrec");
  CHECK_FALSE(file.header.viewer_encodings);  // not the earlier, shorter list
  CHECK(file.of(record::BlockType::viewer_data) == cat({set_encodings, long_list, update_request}));
}

TEST_CASE("recorder tap: include_input keeps the viewer's stream byte for byte") {
  TapFixture f;
  f.config.include_input = true;
  f.start();
  const Bytes stream = cat({set_pixel_format, set_encodings, update_request, key_event, pointer_event});
  // Split in the middle of messages: framing does not depend on chunking.
  f.viewer(Bytes(stream.begin(), stream.begin() + 25));
  f.viewer(Bytes(stream.begin() + 25, stream.end()));
  f.end(0, stream.size());
  const auto file = read_back(f.dir.path / "s1.vhmrec");
  CHECK(file.header.include_input);
  CHECK(file.of(record::BlockType::viewer_data) == stream);
}

TEST_CASE("recorder tap: the bytes past the handshake come first, and the server's first update opens the file") {
  TapFixture f;
  f.start(true, set_pixel_format, {9, 9});
  CHECK(std::filesystem::exists(f.dir.path / "s1.vhmrec") == false);  // created on the writer thread
  f.server({8});
  f.end(3, 20);
  const auto file = read_back(f.dir.path / "s1.vhmrec");
  CHECK(file.of(record::BlockType::server_data) == Bytes{9, 9, 8});
  CHECK(file.of(record::BlockType::viewer_data) == set_pixel_format);
  CHECK(file.header.viewer_pixel_format);
}

TEST_CASE("recorder tap: in tee mode the server's bytes come through the recording's pipe") {
  TapFixture f;
  f.start();
  f.viewer(update_request);  // opens the file: the server's side can be teed from now on
  REQUIRE(f.tap->needs(rfb::Direction::server_to_client) == relay::Tap::Need::tee);
  CHECK(f.tap->needs(rfb::Direction::client_to_server) == relay::Tap::Need::copy);
  const int fd = f.tap->tee_fd(rfb::Direction::server_to_client);
  REQUIRE(fd >= 0);
  const Bytes first = {1, 2, 3, 4}, second(100000, 7);  // as tee(2) would have put them
  REQUIRE(::write(fd, first.data(), first.size()) == 4);
  f.tap->teed(rfb::Direction::server_to_client, first.size());
  std::size_t written = 0;
  while (written < second.size()) {  // the pipe holds 64 KiB at least: let the writer drain it
    const auto n = ::write(fd, second.data() + written, second.size() - written);
    if (n > 0) {
      f.tap->teed(rfb::Direction::server_to_client, static_cast<std::size_t>(n));
      written += static_cast<std::size_t>(n);
    } else {
      std::this_thread::sleep_for(1ms);
    }
  }
  f.end(first.size() + second.size(), update_request.size());
  const auto file = read_back(f.dir.path / "s1.vhmrec");
  CHECK(file.of(record::BlockType::server_data) == cat({first, second}));
  CHECK(file.trailer->recorded_server_bytes == first.size() + second.size());
  CHECK(file.trailer->dropped_bytes == 0);
}

TEST_CASE("recorder tap: an unknown viewer message stops recording the viewer, with a note") {
  TapFixture f;
  f.start();
  f.viewer(cat({update_request, {77, 1, 2, 3}, key_event}));
  f.server({1, 2, 3});
  f.end(3, 22);
  const auto file = read_back(f.dir.path / "s1.vhmrec");
  CHECK(file.of(record::BlockType::viewer_data) == update_request);
  const auto note = file.of(record::BlockType::note);
  CHECK(std::string(note.begin(), note.end()) ==
        "viewer stream not followed after byte 11: viewer sent message type 77, which is not a known RFB message; its "
        "later messages are not recorded");
  CHECK(file.of(record::BlockType::server_data) == Bytes{1, 2, 3});
}

TEST_CASE("recorder tap: a session the proxy cannot see is recorded as such, without its bytes") {
  TapFixture f;
  f.start(false);
  CHECK(f.tap->needs(rfb::Direction::server_to_client) == relay::Tap::Need::nothing);  // the relay may splice
  f.end(1000, 1000);
  const auto file = read_back(f.dir.path / "s1.vhmrec");
  CHECK_FALSE(file.header.content_visible);
  CHECK(file.header.not_visible_reason == "TLS not terminated");
  CHECK(file.blocks.empty());
  CHECK(file.end == record::ReadStatus::complete);
  CHECK(file.trailer->dropped_bytes == 0);
}

TEST_CASE("recorder tap: a full queue stops the recording once, with a note and the dropped bytes counted") {
  TapFixture f;
  f.config.queue_size = 64 * 1024;
  f.start();
  f.viewer(update_request);
  const Bytes small(16 * 1024, 0xAB), big(80 * 1024, 0xCD);  // big alone is more than the queue holds
  f.server(small);
  f.server(big);
  CHECK(f.tap->needs(rfb::Direction::server_to_client) == relay::Tap::Need::nothing);
  f.server(small);  // not recorded: the stream would have a hole
  f.end(2 * small.size() + big.size(), update_request.size());
  // on_error at once; the event only after recording_started.
  REQUIRE(f.events.size() == 4);
  CHECK(f.events[0] == "on_error");
  CHECK(f.events[1] == "started s1.vhmrec");
  CHECK(f.events[2].rfind("failed the disk did not keep up (65536 bytes were waiting to be written)", 0) == 0);
  CHECK(f.events[3] == "finished s1.vhmrec");
  const auto file = read_back(f.dir.path / "s1.vhmrec");
  CHECK(file.end == record::ReadStatus::complete);
  CHECK(file.of(record::BlockType::server_data) == small);
  CHECK(file.trailer->recorded_server_bytes == small.size());
  CHECK(file.trailer->dropped_bytes == small.size() + big.size());
  const auto note = file.of(record::BlockType::note);
  CHECK(std::string(note.begin(), note.end()).rfind("recording stopped: the disk did not keep up", 0) == 0);
}

TEST_CASE("recorder tap: a file that cannot be created is reported once, and the end does not wait") {
  TapFixture f;
  f.config.dir = f.dir.path / "not-a-dir";
  std::ofstream(f.config.dir) << "a file where the directory should be";
  record::Header header;
  header.content_visible = true;
  RecorderTap::Callbacks callbacks;
  std::vector<std::string> failures;
  callbacks.started = [](const auto&) { FAIL("no file, no started"); };
  callbacks.finished = [](const auto&, std::uint64_t) { FAIL("no file, no finished"); };
  callbacks.on_error = [&](const std::string& error) { failures.push_back("on_error " + error); };
  callbacks.failed = [&](const std::string& error) { failures.push_back(error); };
  RecorderTap tap(f.service, f.config, header, f.config.dir / "x.vhmrec", f.io.get_executor(), callbacks);
  tap.start({}, {});
  tap.on_bytes(rfb::Direction::server_to_client, Bytes{1, 2, 3});
  REQUIRE(test::run_until(f.io, [&] { return failures.size() == 2; }));
  CHECK(failures[0].rfind("on_error ", 0) == 0);
  CHECK(failures[1].find("not-a-dir") != std::string::npos);
  CHECK(tap.needs(rfb::Direction::server_to_client) == relay::Tap::Need::nothing);
  bool done = false;
  tap.end("client_closed", 3, 0, [&] { done = true; });
  CHECK(done);
  CHECK(failures.size() == 2);
}

TEST_CASE("recorder service: retention prunes the oldest finished files, never the one being written") {
  TempDir dir;
  RecorderService service;
  service.set_retention({{dir.path, record::RetentionPolicy{std::nullopt, 1}}});  // 1 byte: everything finished goes
  record::Header header;
  std::vector<RecordingReport> reports;
  std::mutex mutex;
  auto callback = [&](const RecordingReport& report) {
    std::lock_guard lock(mutex);
    reports.push_back(report);
  };
  auto open = service.start({dir.path / "open.vhmrec"}, header, 1 << 20, callback);
  auto done = service.start({dir.path / "done.vhmrec"}, header, 1 << 20, callback);
  done->finish({});
  service.drain();
  CHECK(std::filesystem::exists(dir.path / "open.vhmrec"));
  CHECK_FALSE(std::filesystem::exists(dir.path / "done.vhmrec"));
  open->finish({});
  service.drain();
  CHECK_FALSE(std::filesystem::exists(dir.path / "open.vhmrec"));
  std::lock_guard lock(mutex);
  CHECK(std::count_if(reports.begin(), reports.end(),
                      [](const auto& r) { return r.kind == RecordingReport::Kind::finished; }) == 2);
}

}  // namespace vhm::proxy
