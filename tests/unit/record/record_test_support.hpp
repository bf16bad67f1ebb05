#pragma once
// Helpers for the record tests: temp dirs, sample headers and blocks, files
// written with the real writer, everything a reader yields.
#include <stdlib.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "record/format.hpp"
#include "record/reader.hpp"
#include "record/writer.hpp"

namespace vhm::record::test {

namespace fs = std::filesystem;
using Bytes = std::vector<std::uint8_t>;

class TempDir {
 public:
  TempDir() {
    std::string pattern = "/tmp/vhm-record-test-XXXXXX";
    if (!::mkdtemp(pattern.data())) throw std::runtime_error("mkdtemp failed");
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ignored;
    fs::permissions(path_, fs::perms::owner_all, fs::perm_options::add, ignored);
    fs::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const fs::path& path() const { return path_; }
  fs::path operator/(const std::string& name) const { return path_ / name; }

 private:
  fs::path path_;
};

inline Bytes bytes_of(std::string_view text) { return Bytes(text.begin(), text.end()); }

inline Bytes read_bytes(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return Bytes(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

inline void write_bytes(const fs::path& path, const Bytes& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
}

inline PixelFormat rgb888() {  // 32bpp depth 24 little-endian true-colour r<<16 g<<8 b<<0
  return PixelFormat{{32, 24, 0, 1, 0, 255, 0, 255, 0, 255, 16, 8, 0, 0, 0, 0}};
}

inline Header sample_header(Compression compression = Compression::none) {
  Header h;
  h.compression = compression;
  h.start_unix_us = 1'795'987'800'000'000;  // 2026-11-29T21:30:00Z
  h.session = {{"session_id", "s-42"}, {"client_ip", "192.0.2.7"}, {"client_port", "50123"},
               {"target_host", "127.0.0.1"}, {"target_port", "5901"}, {"user", "alice"}};
  h.rfb_version = "3.8";
  h.security_type = "VncAuth";
  h.server_init = ServerInit{1024, 768, rgb888(), "alice's desktop"};
  return h;
}

inline Block block(BlockType type, std::uint64_t time_us, std::string_view payload) {
  return Block{type, time_us, bytes_of(payload)};
}

inline std::vector<Block> sample_blocks() {
  using namespace std::string_view_literals;  // payloads with NUL bytes
  return {block(BlockType::server_data, 0, "\x00\x00\x00\x01 first update"sv),
          block(BlockType::viewer_data, 1500, "\x03\x01\x00\x00\x00\x00\x04\x00\x03\x00"sv),
          block(BlockType::note, 2000, "viewer stream not followed: test"),
          block(BlockType::server_data, 250'000, std::string(300, 'x'))};
}

inline Trailer sample_trailer() {
  Trailer t;
  t.duration_us = 300'000;
  t.server_bytes = 400;
  t.viewer_bytes = 10;
  t.recorded_server_bytes = 318;
  t.recorded_viewer_bytes = 10;
  t.end_reason = "viewer closed";
  return t;
}

// Writes a complete file (flushing after every `flush_every` blocks) and returns its bytes.
inline Bytes write_recording(const fs::path& path, Compression compression, const std::vector<Block>& blocks,
                             std::size_t flush_every = 2, const Header& header_in = sample_header()) {
  Header header = header_in;
  header.compression = compression;
  std::string error;
  auto writer = RecordingWriter::create({path, 0600, compression, 3}, header, error);
  if (!writer) throw std::runtime_error(error);
  for (std::size_t i = 0; i < blocks.size(); ++i) {
    writer->append(blocks[i]);
    if ((i + 1) % flush_every == 0 && !writer->flush(error)) throw std::runtime_error(error);
  }
  if (!writer->finish(sample_trailer(), error)) throw std::runtime_error(error);
  return read_bytes(path);
}

struct ReadAll {
  bool opened = false;
  std::string open_error;
  std::vector<Block> blocks;
  ReadStatus status = ReadStatus::corrupt;
  std::string error;
  std::optional<Trailer> trailer;
};

inline ReadAll read_all(std::unique_ptr<RecordingReader> reader, const std::string& open_error) {
  ReadAll r;
  r.open_error = open_error;
  if (!reader) return r;
  r.opened = true;
  Block b;
  for (;;) {
    r.status = reader->next(b, r.error);
    if (r.status != ReadStatus::block) break;
    r.blocks.push_back(b);
  }
  r.trailer = reader->trailer();
  return r;
}

inline ReadAll read_memory(Bytes bytes) {
  std::string error;
  auto reader = RecordingReader::from_memory(std::move(bytes), error);
  return read_all(std::move(reader), error);
}

inline ReadAll read_path(const fs::path& path) {
  std::string error;
  auto reader = RecordingReader::open(path, error);
  return read_all(std::move(reader), error);
}

inline bool same_block(const Block& a, const Block& b) {
  return a.type == b.type && a.time_us == b.time_us && a.payload == b.payload;
}

}  // namespace vhm::record::test
