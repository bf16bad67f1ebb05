#pragma once
// Reads a recording file (or bytes in memory) block by block, checking every
// length against the format's limits and every CRC. A file that ends early
// reads up to its last complete block and then reports `truncated`; bad bytes
// report `corrupt` with the offset. Never trusts a length before checking it.
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "record/format.hpp"

namespace vhm::record {

enum class ReadStatus : std::uint8_t {
  block,      // `out` holds the next block (never the trailer)
  complete,   // the trailer was read: trailer() is set; nothing follows
  truncated,  // the file ends before its trailer (maybe inside a block): what came before is good
  corrupt,    // bad CRC, bad length, bad zstd frame, data after the trailer...: `error` says what and where
};

class RecordingReader {
 public:
  // Reads and checks preamble and header. nullptr and `error` ("x.vhmrec: not a
  // vnc-hooks-manager recording", "...: format version 2.0 is newer than this
  // program reads (1.x)", "...: header truncated") on failure.
  static std::unique_ptr<RecordingReader> open(const std::filesystem::path& path, std::string& error);
  static std::unique_ptr<RecordingReader> from_memory(std::vector<std::uint8_t> bytes, std::string& error);
  ~RecordingReader();
  RecordingReader(const RecordingReader&) = delete;
  RecordingReader& operator=(const RecordingReader&) = delete;

  const Header& header() const;
  ReadStatus next(Block& out, std::string& error);
  const std::optional<Trailer>& trailer() const;
  std::uint64_t file_offset() const;  // of the next unread byte of the file (compressed position)

 private:
  struct State;
  explicit RecordingReader(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

}  // namespace vhm::record
