#include "record/retention.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <utility>

#include "record/file_io.hpp"

namespace vhm::record {

namespace {

struct Candidate {
  std::filesystem::path path;
  std::uint64_t size = 0;
  std::chrono::system_clock::time_point modified;
  bool in_use = false;
  bool removed = false;
};

std::chrono::system_clock::time_point mtime_of(const struct stat& st) {
  return std::chrono::system_clock::time_point(
      std::chrono::duration_cast<std::chrono::system_clock::duration>(std::chrono::seconds(st.st_mtim.tv_sec) +
                                                                     std::chrono::nanoseconds(st.st_mtim.tv_nsec)));
}

}  // namespace

PruneResult prune(const std::filesystem::path& dir, const RetentionPolicy& policy,
                  std::chrono::system_clock::time_point now, const std::set<std::filesystem::path>& in_use) {
  namespace fs = std::filesystem;
  PruneResult result;
  // Files in use by identity (device, inode) as well as by name, so "./a" and "a" agree.
  std::set<std::pair<dev_t, ino_t>> in_use_ids;
  std::set<fs::path> in_use_names;
  for (const auto& p : in_use) {
    in_use_names.insert(p.lexically_normal());
    struct stat st {};
    if (::lstat(p.c_str(), &st) == 0) in_use_ids.emplace(st.st_dev, st.st_ino);
  }

  std::vector<Candidate> files;
  std::error_code ec;
  // Without follow_directory_symlink: a link to a directory is not entered.
  fs::recursive_directory_iterator it(dir, fs::directory_options::skip_permission_denied, ec);
  if (ec) {
    result.errors.push_back("cannot read " + dir.string() + ": " + ec.message());
    return result;
  }
  for (const fs::recursive_directory_iterator end; it != end; it.increment(ec)) {
    if (ec) {
      result.errors.push_back("cannot read " + dir.string() + ": " + ec.message());
      break;
    }
    const fs::path& path = it->path();
    if (path.extension() != ".vhmrec") continue;
    struct stat st {};
    if (::lstat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue;  // links and the like are never touched
    Candidate c{path, static_cast<std::uint64_t>(st.st_size), mtime_of(st), false, false};
    c.in_use = in_use_ids.contains({st.st_dev, st.st_ino}) || in_use_names.contains(path.lexically_normal());
    files.push_back(std::move(c));
  }
  std::sort(files.begin(), files.end(), [](const Candidate& a, const Candidate& b) {
    return a.modified != b.modified ? a.modified < b.modified : a.path < b.path;
  });

  std::uint64_t total = 0;
  for (const auto& f : files) total += f.size;
  const auto remove = [&](Candidate& f) {
    if (::unlink(f.path.c_str()) != 0) {
      result.errors.push_back("cannot remove " + f.path.string() + ": " + io::errno_text(errno));
      f.in_use = true;  // stays, and is not tried again
      return;
    }
    result.removed.push_back(f.path);
    result.bytes_removed += f.size;
    total -= f.size;
    f.removed = true;
  };
  if (policy.max_age) {
    for (auto& f : files)
      if (!f.in_use && !f.removed && now - f.modified > *policy.max_age) remove(f);
  }
  if (policy.max_total_size) {
    for (auto& f : files) {  // oldest first
      if (total <= *policy.max_total_size) break;
      if (!f.in_use && !f.removed) remove(f);
    }
  }
  result.bytes_kept = total;
  return result;
}

}  // namespace vhm::record
