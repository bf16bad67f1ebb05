#pragma once
// A bounded, crash-safe queue of events on disk (docs/fleet.md): the event
// stream's publisher appends every event here before sending it to Redis, and
// commits what Redis acknowledged, so a proxy restarted after a crash or a
// Redis outage sends exactly what was not acknowledged (at least once: a
// crash between Redis's reply and the commit sends that batch again).
//
// Files in `dir`: segment-<first sequence>.log (append-only, records of
// broker/spool/spool_format.hpp) and `commit` (the acknowledged sequence).
// append() writes a batch with one write and one fdatasync (group commit);
// read() returns written records (a reader need not wait for the fsync);
// commit() one pwrite + fdatasync, then deletes segments wholly acknowledged.
// Beyond max_bytes the oldest segments are deleted: their unacknowledged
// events are counted as dropped and logged.
//
// Thread-safe: one thread appends, another reads and commits (fsyncs happen
// outside the lock, so a reader never waits for the appender's disk).
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace vhm::broker {

struct SpoolRecord {
  std::uint64_t seq = 0;
  std::int64_t time_ms = 0;  // when it was appended (unix ms)
  std::string payload;
};

struct SpoolStats {
  std::size_t events = 0;          // appended and not yet acknowledged
  std::size_t bytes = 0;           // their bytes on disk
  std::size_t disk_bytes = 0;      // every segment file (acknowledged records included)
  std::int64_t oldest_time_ms = 0; // the oldest unacknowledged event's time; 0: none
  std::uint64_t dropped = 0;       // events deleted unsent because the spool was full
  std::uint64_t last_seq = 0;      // the newest appended
  std::uint64_t committed_seq = 0; // the newest acknowledged
};

class EventSpool {
 public:
  // Opens (creating `dir` if needed) and recovers: reads the commit file and
  // every segment, drops a torn or corrupt tail (logged), deletes segments
  // already acknowledged. False with `error` set when the directory cannot be used.
  bool open(const std::filesystem::path& dir, std::size_t max_bytes, std::string& error);
  EventSpool();
  ~EventSpool();
  EventSpool(const EventSpool&) = delete;
  EventSpool& operator=(const EventSpool&) = delete;

  // Durable when it returns (fdatasync), or with `sync_now` false once sync()
  // ran. False (logged) on a disk error: the events are lost, counted as
  // dropped. `written` (if set) runs once the records can be read, before the
  // fsync: a reader may send them meanwhile.
  bool append(const std::vector<std::string>& payloads, std::int64_t time_ms,
              const std::function<void()>& written = {}, bool sync_now = true);
  // fdatasync of every segment appended to without sync_now since the last
  // sync(); from another thread than the appender, so neither waits for the other.
  void sync();
  // Up to `max_events` / about `max_bytes` of the unacknowledged records with a
  // sequence above `after_seq`, in order (from the oldest kept if `after_seq`
  // was dropped).
  std::vector<SpoolRecord> read(std::uint64_t after_seq, std::size_t max_events, std::size_t max_bytes);
  // Redis acknowledged every record up to `seq`.
  bool commit(std::uint64_t seq);

  SpoolStats stats() const;
  const std::filesystem::path& dir() const { return dir_; }
  // Segment size for a spool of `max_bytes` (the unit in which the oldest are dropped).
  static std::size_t segment_bytes_for(std::size_t max_bytes);

 private:
  struct Segment;
  struct Pending {
    std::uint64_t seq;
    std::int64_t time_ms;
    std::uint32_t size;
  };
  bool recover(std::string& error);
  void recover_segment(Segment& segment, std::uint64_t& last_seq);
  bool drop_oldest_for(std::size_t incoming);  // under mutex_
  void delete_acknowledged();                  // under mutex_
  void forget_pending_upto(std::uint64_t seq); // under mutex_
  bool open_active_segment(std::uint64_t first_seq);  // under mutex_

  std::filesystem::path dir_;
  std::size_t max_bytes_ = 0;
  std::size_t segment_bytes_ = 0;
  int dir_fd_ = -1;
  int commit_fd_ = -1;
  std::uint64_t commit_writes_ = 0;

  mutable std::mutex mutex_;
  std::deque<std::unique_ptr<Segment>> segments_;  // oldest first; the last may be the active one
  std::deque<Pending> pending_;                    // unacknowledged, oldest first
  std::size_t pending_bytes_ = 0;
  std::size_t disk_bytes_ = 0;
  std::uint64_t next_seq_ = 1;
  std::uint64_t committed_seq_ = 0;
  std::uint64_t dropped_ = 0;
  std::chrono::steady_clock::time_point drop_logged_{};
  std::vector<int> unsynced_fds_;  // dup()s of rolled segments that sync() still owes an fdatasync
  // read()'s place, so a reader following the appender does not rescan a segment.
  struct Cursor {
    std::uint64_t seq = 0;          // the last record read
    std::uint64_t segment_first = 0;
    std::size_t offset = 0;         // just after it
  } cursor_;
};

}  // namespace vhm::broker
