#include "broker/event_spool.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstring>

#include "util/log.hpp"

#include "broker/spool/spool_format.hpp"
#include "util/write_all.hpp"

namespace vhm::broker {

struct EventSpool::Segment {
  std::uint64_t first_seq = 0;  // in the file name
  std::uint64_t last_seq = 0;   // 0: no record yet
  std::size_t count = 0;
  std::size_t bytes = 0;
  std::filesystem::path path;
  int fd = -1;          // opened for reading on demand; the active one read-write
  bool active = false;  // appends go here
  bool unsynced = false;  // written without an fdatasync since
  ~Segment() {
    if (fd >= 0) ::close(fd);
  }
};

namespace {

constexpr std::size_t spool_min_segment = 4u << 10;
constexpr std::size_t spool_max_segment = 8u << 20;
constexpr std::size_t spool_read_chunk = 64u << 10;

std::string errno_text(int error) { return std::strerror(error); }

std::filesystem::path segment_path(const std::filesystem::path& dir, std::uint64_t first_seq) {
  char name[48];
  std::snprintf(name, sizeof name, "segment-%020" PRIu64 ".log", first_seq);
  return dir / name;
}

std::optional<std::uint64_t> segment_seq(const std::string& name) {
  constexpr std::string_view prefix = "segment-", suffix = ".log";
  if (name.size() != prefix.size() + 20 + suffix.size() || !name.starts_with(prefix) || !name.ends_with(suffix))
    return std::nullopt;
  std::uint64_t seq = 0;
  for (std::size_t i = prefix.size(); i < prefix.size() + 20; ++i) {
    if (name[i] < '0' || name[i] > '9') return std::nullopt;
    seq = seq * 10 + static_cast<std::uint64_t>(name[i] - '0');
  }
  return seq;
}

using util::write_all;

bool pread_all(int fd, std::string& out, std::size_t size, std::size_t offset) {
  out.resize(size);
  std::size_t got = 0;
  while (got < size) {
    const auto n = ::pread(fd, out.data() + got, size - got, static_cast<off_t>(offset + got));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      out.resize(got);
      return false;
    }
    got += static_cast<std::size_t>(n);
  }
  return true;
}

bool read_whole(const std::filesystem::path& path, std::string& out) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  struct stat info {};
  const bool ok = ::fstat(fd, &info) == 0 && pread_all(fd, out, static_cast<std::size_t>(info.st_size), 0);
  ::close(fd);
  return ok;
}

}  // namespace

std::size_t EventSpool::segment_bytes_for(std::size_t max_bytes) {
  return std::clamp(max_bytes / 16, spool_min_segment, spool_max_segment);
}

EventSpool::EventSpool() = default;

EventSpool::~EventSpool() {
  sync();
  segments_.clear();
  if (commit_fd_ >= 0) ::close(commit_fd_);
  if (dir_fd_ >= 0) ::close(dir_fd_);
}

bool EventSpool::open(const std::filesystem::path& dir, std::size_t max_bytes, std::string& error) {
  dir_ = dir;
  max_bytes_ = max_bytes;
  segment_bytes_ = segment_bytes_for(max_bytes);
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec)) {
    std::filesystem::create_directories(dir, ec);
    if (ec) {
      error = "cannot create the event spool " + dir.string() + ": " + ec.message();
      return false;
    }
    // Events name clients and users: the spool is the service's alone.
    std::filesystem::permissions(dir, std::filesystem::perms::owner_all, ec);
  }
  dir_fd_ = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd_ < 0) {
    error = "cannot open the event spool " + dir.string() + ": " + errno_text(errno);
    return false;
  }
  const auto commit_path = dir / "commit";
  commit_fd_ = ::open(commit_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (commit_fd_ < 0) {
    error = "cannot open " + commit_path.string() + ": " + errno_text(errno);
    return false;
  }
  std::string commit_bytes;
  pread_all(commit_fd_, commit_bytes, 2 * spool_commit_slot_stride, 0);
  if (const auto seq = parse_commit_file(commit_bytes))
    committed_seq_ = *seq;
  else if (!commit_bytes.empty())
    spdlog::warn("event spool: {} is unreadable; every spooled event is sent again", commit_path.string());
  ::fsync(dir_fd_);  // the commit file's directory entry
  return recover(error);
}

bool EventSpool::recover(std::string& error) {
  std::vector<std::pair<std::uint64_t, std::filesystem::path>> found;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir_, ec))
    if (const auto seq = segment_seq(entry.path().filename().string())) found.emplace_back(*seq, entry.path());
  if (ec) {
    error = "cannot list the event spool " + dir_.string() + ": " + ec.message();
    return false;
  }
  std::sort(found.begin(), found.end());
  std::uint64_t last_seq = 0;
  for (auto& [first, path] : found) {
    auto segment = std::make_unique<Segment>();
    segment->first_seq = first;
    segment->path = path;
    recover_segment(*segment, last_seq);
    if (segment->count == 0 || segment->last_seq <= committed_seq_) {
      std::filesystem::remove(segment->path, ec);
      continue;
    }
    disk_bytes_ += segment->bytes;
    segments_.push_back(std::move(segment));
  }
  next_seq_ = std::max(last_seq, committed_seq_) + 1;
  if (!pending_.empty())
    spdlog::info("event spool {}: {} event(s) ({} bytes) from an earlier run wait for Redis", dir_.string(),
                 pending_.size(), pending_bytes_);
  return true;
}

void EventSpool::recover_segment(Segment& segment, std::uint64_t& last_seq) {
  std::string bytes;
  if (!read_whole(segment.path, bytes)) {
    spdlog::error("event spool: cannot read {}: {}; its events are lost", segment.path.string(), errno_text(errno));
    return;
  }
  const auto parsed = parse_spool_records(bytes, last_seq);
  if (parsed.end != SpoolParse::End::clean) {
    // A crash mid-append (torn) or a damaged disk (corrupt): what follows the
    // last good record is dropped; cut it off so appends never follow garbage.
    spdlog::warn("event spool: {} ends with {}; dropping the {} byte(s) after it", segment.path.string(),
                 parsed.problem, bytes.size() - parsed.valid_bytes);
    const int fd = ::open(segment.path.c_str(), O_WRONLY | O_CLOEXEC);
    if (fd >= 0) {
      if (::ftruncate(fd, static_cast<off_t>(parsed.valid_bytes)) == 0) ::fdatasync(fd);
      ::close(fd);
    }
  }
  for (const auto& record : parsed.records) {
    if (record.seq > committed_seq_) {
      pending_.push_back({record.seq, record.time_ms, static_cast<std::uint32_t>(record.size)});
      pending_bytes_ += record.size;
    }
    segment.last_seq = record.seq;
    ++segment.count;
  }
  segment.bytes = parsed.valid_bytes;
  if (segment.count > 0) last_seq = segment.last_seq;
}

bool EventSpool::open_active_segment(std::uint64_t first_seq) {
  auto segment = std::make_unique<Segment>();
  segment->first_seq = first_seq;
  segment->path = segment_path(dir_, first_seq);
  segment->fd = ::open(segment->path.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0600);
  if (segment->fd < 0) {
    spdlog::error("event spool: cannot create {}: {}", segment->path.string(), errno_text(errno));
    return false;
  }
  ::fsync(dir_fd_);  // the new file's directory entry survives a crash
  segment->active = true;
  segments_.push_back(std::move(segment));
  return true;
}

bool EventSpool::drop_oldest_for(std::size_t incoming) {
  std::size_t dropped_now = 0;
  while (disk_bytes_ + incoming > max_bytes_ && !segments_.empty() && !segments_.front()->active) {
    const auto& oldest = *segments_.front();
    while (!pending_.empty() && pending_.front().seq <= oldest.last_seq) {
      pending_bytes_ -= pending_.front().size;
      pending_.pop_front();
      ++dropped_now;
    }
    disk_bytes_ -= oldest.bytes;
    std::error_code ec;
    std::filesystem::remove(oldest.path, ec);
    segments_.pop_front();
  }
  if (dropped_now > 0) {
    dropped_ += dropped_now;
    // A long outage drops a segment after another: one line per minute says it.
    const auto now = std::chrono::steady_clock::now();
    if (drop_logged_ == std::chrono::steady_clock::time_point{} || now - drop_logged_ >= std::chrono::minutes(1)) {
      spdlog::warn("event spool {} is full ({} bytes): the oldest unsent events are dropped ({} so far)",
                   dir_.string(), max_bytes_, dropped_);
      drop_logged_ = now;
    }
  }
  return disk_bytes_ + incoming <= max_bytes_;
}

bool EventSpool::append(const std::vector<std::string>& payloads, std::int64_t time_ms,
                        const std::function<void()>& written, bool sync_now) {
  bool ok = true;
  std::size_t index = 0;
  while (index < payloads.size()) {
    std::uint64_t first = 0;
    {
      std::lock_guard lock(mutex_);
      first = next_seq_;
    }
    // One chunk: the records that fit in one segment (at least one record).
    std::string buffer;
    std::vector<Pending> added;
    while (index < payloads.size()) {
      const auto record_size = spool_record_header + payloads[index].size();
      if (!added.empty() && buffer.size() + record_size > segment_bytes_) break;
      const auto seq = first + added.size();
      append_spool_record(buffer, seq, time_ms, payloads[index]);
      added.push_back({seq, time_ms, static_cast<std::uint32_t>(record_size)});
      ++index;
    }
    int fd = -1;
    {
      std::lock_guard lock(mutex_);
      if (added.size() == 1 && buffer.size() > max_bytes_) {
        ++dropped_;
        ++next_seq_;
        spdlog::warn("event spool: an event of {} bytes is larger than the whole spool ({} bytes); dropped",
                     buffer.size(), max_bytes_);
        continue;
      }
      Segment* active = segments_.empty() || !segments_.back()->active ? nullptr : segments_.back().get();
      if (active && active->count > 0 && active->bytes + buffer.size() > segment_bytes_) {
        active->active = false;  // rolled: the next segment starts with this chunk
        if (active->unsynced) {
          // sync() owes it an fdatasync; a dup() outlives a drop of the segment.
          if (const int copy = ::dup(active->fd); copy >= 0) unsynced_fds_.push_back(copy);
          active->unsynced = false;
        }
        active = nullptr;
      }
      drop_oldest_for(buffer.size());
      if (!active) {
        if (!open_active_segment(first)) {
          dropped_ += added.size();
          next_seq_ += added.size();
          ok = false;
          continue;
        }
        active = segments_.back().get();
      }
      if (!write_all(active->fd, buffer)) {
        const int error = errno;
        // Cut a partial write off again, so the file stays a clean sequence of records.
        if (::ftruncate(active->fd, static_cast<off_t>(active->bytes)) != 0) active->active = false;
        spdlog::error("event spool: cannot write {}: {}; {} event(s) lost", active->path.string(), errno_text(error),
                      added.size());
        dropped_ += added.size();
        next_seq_ += added.size();
        ok = false;
        continue;
      }
      active->bytes += buffer.size();
      active->count += added.size();
      active->last_seq = added.back().seq;
      disk_bytes_ += buffer.size();
      for (const auto& pending : added) {
        pending_.push_back(pending);
        pending_bytes_ += pending.size;
      }
      next_seq_ = added.back().seq + 1;
      fd = active->fd;
      if (!sync_now) active->unsynced = true;
    }
    if (written) written();
    if (!sync_now) continue;
    // Outside the lock: the reader never waits for the disk. Only this thread
    // rolls or drops the active segment, so `fd` stays open.
    if (::fdatasync(fd) != 0)
      spdlog::error("event spool: fdatasync failed: {}; a crash now may lose the newest events", errno_text(errno));
  }
  return ok;
}

std::vector<SpoolRecord> EventSpool::read(std::uint64_t after_seq, std::size_t max_events, std::size_t max_bytes) {
  std::vector<SpoolRecord> out;
  std::lock_guard lock(mutex_);
  after_seq = std::max(after_seq, committed_seq_);
  // Written is enough to send (the fsync runs meanwhile): a record lost in a
  // machine crash before its fsync was lost either way, and one that reached
  // Redis needs no spool.
  const auto written = next_seq_ - 1;
  if (after_seq >= written) return out;
  std::size_t got_bytes = 0;
  auto it = std::find_if(segments_.begin(), segments_.end(), [&](const auto& s) { return s->last_seq > after_seq; });
  std::size_t offset = 0;
  if (it != segments_.end() && cursor_.seq == after_seq && cursor_.segment_first == (*it)->first_seq)
    offset = cursor_.offset;
  for (; it != segments_.end(); ++it, offset = 0) {
    Segment& segment = **it;
    if (segment.fd < 0) segment.fd = ::open(segment.path.c_str(), O_RDONLY | O_CLOEXEC);
    if (segment.fd < 0) {
      spdlog::error("event spool: cannot open {}: {}", segment.path.string(), errno_text(errno));
      continue;
    }
    while (offset < segment.bytes) {
      std::string bytes;
      auto want = std::min(segment.bytes - offset, std::max(max_bytes - std::min(max_bytes, got_bytes), spool_read_chunk));
      pread_all(segment.fd, bytes, want, offset);
      auto parsed = parse_spool_records(bytes);
      if (parsed.records.empty() && parsed.end == SpoolParse::End::torn && bytes.size() >= spool_record_header) {
        // One record longer than the chunk: read exactly it.
        const auto length = static_cast<unsigned char>(bytes[0]) | static_cast<unsigned char>(bytes[1]) << 8 |
                            static_cast<unsigned char>(bytes[2]) << 16 |
                            static_cast<std::size_t>(static_cast<unsigned char>(bytes[3])) << 24;
        want = std::min(segment.bytes - offset, spool_record_header + length);
        pread_all(segment.fd, bytes, want, offset);
        parsed = parse_spool_records(bytes);
      }
      if (parsed.records.empty()) {
        spdlog::error("event spool: {} at offset {}: {}; skipping the rest of the file", segment.path.string(), offset,
                      parsed.problem.empty() ? "cannot read" : parsed.problem);
        break;
      }
      for (const auto& record : parsed.records) {
        offset += record.size;
        if (record.seq <= after_seq) continue;
        if (record.seq > written || out.size() >= max_events || got_bytes >= max_bytes) return out;
        out.push_back({record.seq, record.time_ms, std::string(record.payload)});
        got_bytes += record.size;
        cursor_ = {record.seq, segment.first_seq, offset};
      }
    }
  }
  return out;
}

void EventSpool::sync() {
  std::vector<int> fds;
  {
    std::lock_guard lock(mutex_);
    fds.swap(unsynced_fds_);
    if (!segments_.empty() && segments_.back()->active && segments_.back()->unsynced) {
      if (const int copy = ::dup(segments_.back()->fd); copy >= 0) fds.push_back(copy);
      segments_.back()->unsynced = false;  // a write from now on sets it again
    }
  }
  for (const int fd : fds) {
    if (::fdatasync(fd) != 0)
      spdlog::error("event spool: fdatasync failed: {}; a crash now may lose the newest events", errno_text(errno));
    ::close(fd);
  }
}

bool EventSpool::commit(std::uint64_t seq) {
  std::uint64_t slot = 0;
  {
    std::lock_guard lock(mutex_);
    if (seq <= committed_seq_) return true;
    slot = commit_writes_++ % 2;
  }
  const auto bytes = encode_commit_slot(seq);
  bool ok = ::pwrite(commit_fd_, bytes.data(), bytes.size(), static_cast<off_t>(slot * spool_commit_slot_stride)) ==
                static_cast<ssize_t>(bytes.size()) &&
            ::fdatasync(commit_fd_) == 0;
  if (!ok)
    spdlog::error("event spool: cannot write {}: {}; after a restart some events are sent twice",
                  (dir_ / "commit").string(), errno_text(errno));
  std::lock_guard lock(mutex_);
  committed_seq_ = std::max(committed_seq_, seq);
  forget_pending_upto(committed_seq_);
  delete_acknowledged();
  return ok;
}

void EventSpool::forget_pending_upto(std::uint64_t seq) {
  while (!pending_.empty() && pending_.front().seq <= seq) {
    pending_bytes_ -= pending_.front().size;
    pending_.pop_front();
  }
}

void EventSpool::delete_acknowledged() {
  // Never the active segment: the appender fsyncs it outside the lock.
  while (!segments_.empty() && !segments_.front()->active && segments_.front()->last_seq <= committed_seq_) {
    std::error_code ec;
    std::filesystem::remove(segments_.front()->path, ec);
    disk_bytes_ -= segments_.front()->bytes;
    segments_.pop_front();
  }
}

SpoolStats EventSpool::stats() const {
  std::lock_guard lock(mutex_);
  SpoolStats stats;
  stats.events = pending_.size();
  stats.bytes = pending_bytes_;
  stats.disk_bytes = disk_bytes_;
  stats.oldest_time_ms = pending_.empty() ? 0 : pending_.front().time_ms;
  stats.dropped = dropped_;
  stats.last_seq = next_seq_ - 1;
  stats.committed_seq = committed_seq_;
  return stats;
}

}  // namespace vhm::broker
