#pragma once
// Writes one recording file, synchronously (the proxy calls it from its
// recorder thread, never from the relay). Blocks are collected in memory and
// reach the disk at flush(): with write(2), so after a kill -9 of the process
// everything flushed is in the file; with zstd each flush is one zstd frame.
#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <span>
#include <memory>
#include <string>

#include "record/format.hpp"

namespace vhm::record {

struct WriterOptions {
  std::filesystem::path path;  // created new (O_EXCL, O_NOFOLLOW): never overwrites or follows a link
  mode_t mode = 0600;
  Compression compression = Compression::none;
  int zstd_level = 3;
  // When set (the recording directory): `path` must be below it, and the
  // directories between are created or entered without following any link,
  // so a link planted below the recording directory cannot redirect a file.
  // The directory itself may be a link (an administrator's choice); it is
  // made (0700, with its missing parents) if it does not exist.
  std::filesystem::path base_dir{};
};

class RecordingWriter {
 public:
  // Creates the file and writes the preamble and header at once. nullptr and
  // `error` ("cannot create /x/y.vhmrec: Permission denied") on failure; the
  // errno is in `error_number` when one applies.
  static std::unique_ptr<RecordingWriter> create(const WriterOptions& options, const Header& header,
                                                 std::string& error, int* error_number = nullptr);
  ~RecordingWriter();  // closes without a trailer if finish() was not called (the file reads as truncated)
  RecordingWriter(const RecordingWriter&) = delete;
  RecordingWriter& operator=(const RecordingWriter&) = delete;

  // Queues a block in memory (payloads over max_block_payload are split; a
  // time before the previous block's is raised to it; a trailer block is
  // ignored: finish() writes the trailer). No allocation once the buffer has grown.
  void append(const Block& block);
  // Appends a block of `size` payload bytes that `fill` writes in place (a
  // read from a pipe: one copy less). `size` <= max_block_payload. false when
  // fill returned false: nothing was appended.
  bool append_filled(BlockType type, std::uint64_t time_us, std::size_t size,
                     const std::function<bool(std::span<std::uint8_t>)>& fill);
  std::size_t pending_bytes() const;  // appended, not yet flushed
  // Writes what was appended. false and `error`/`error_number` (ENOSPC, EIO...) on failure.
  bool flush(std::string& error, int* error_number = nullptr);
  // Appends the trailer, flushes, fdatasync, closes.
  bool finish(const Trailer& trailer, std::string& error, int* error_number = nullptr);
  std::uint64_t file_bytes() const;  // bytes on disk so far
  const std::filesystem::path& path() const;

 private:
  struct State;
  explicit RecordingWriter(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

}  // namespace vhm::record
