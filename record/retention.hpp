#pragma once
// Pruning of a recording directory: files older than max_age go, then the
// oldest files until the total is at most max_total_size. A file in `in_use`
// (being written) is never removed and still counts toward the total. Only
// regular files named *.vhmrec (any depth below `dir`) are considered; links
// are never followed.
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace vhm::record {

struct RetentionPolicy {
  std::optional<std::chrono::seconds> max_age;
  std::optional<std::uint64_t> max_total_size;  // bytes
};

struct PruneResult {
  std::vector<std::filesystem::path> removed;
  std::uint64_t bytes_removed = 0;
  std::uint64_t bytes_kept = 0;
  std::vector<std::string> errors;  // "cannot remove x: Permission denied"
};

PruneResult prune(const std::filesystem::path& dir, const RetentionPolicy& policy,
                  std::chrono::system_clock::time_point now, const std::set<std::filesystem::path>& in_use);

}  // namespace vhm::record
