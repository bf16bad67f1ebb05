#pragma once
// What `recording info` and `recording list` print: a file's metadata,
// duration, sizes, and whether it is complete, truncated or corrupt, found by
// reading every block (so integrity is checked, not assumed).
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "record/format.hpp"

namespace vhm::record {

enum class Integrity : std::uint8_t { complete, truncated, corrupt, unreadable };

struct FileSummary {
  std::filesystem::path path;
  Integrity integrity = Integrity::unreadable;
  std::string problem;  // why not complete: reader's error text
  std::optional<Header> header;
  std::optional<Trailer> trailer;
  std::uint64_t file_bytes = 0;
  std::uint64_t blocks = 0;
  std::uint64_t last_time_us = 0;  // duration as far as the blocks go (truncated files have no trailer)
  std::uint64_t server_bytes = 0, viewer_bytes = 0, notes = 0;
};

FileSummary inspect(const std::filesystem::path& path);
std::vector<FileSummary> inspect_dir(const std::filesystem::path& dir);  // *.vhmrec below dir, sorted by start time

std::string to_text(const FileSummary& summary);   // `recording info`
std::string to_json(const FileSummary& summary);   // one JSON object
std::string list_table(const std::vector<FileSummary>& files);  // `recording list`
std::string list_json(const std::vector<FileSummary>& files);   // `recording list --json`: a JSON array

}  // namespace vhm::record
