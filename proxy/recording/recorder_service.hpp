#pragma once
// One background thread writes every session's recording. The relay hands
// each chunk over through push(), which copies it into a bounded queue and
// never blocks: past half the bound the recording is `congested` and the
// relay waits (briefly, without blocking the thread) for the writer to catch
// up; a queue that stays full, or a push that does not fit, means the disk
// does not keep up and the session's `on_error` decides. The thread creates the file, appends blocks, flushes each file at
// least every second (so a kill -9 loses at most that) and finishes it, and
// prunes the recording directories after each finished file and every
// minute. Its reports (started, failed, finished) arrive as callbacks on the
// writer thread; the caller moves them to its own thread.
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "proxy/relay/pipe.hpp"
#include "record/format.hpp"
#include "record/retention.hpp"
#include "record/writer.hpp"

namespace vhm::proxy {

struct RecordingReport {
  enum class Kind { started, failed, finished } kind = Kind::started;
  std::filesystem::path path;
  std::uint64_t file_bytes = 0;
  std::string error;  // failed: "cannot write /x: No space left on device"
};

class RecorderService {
 public:
  using Callback = std::function<void(const RecordingReport&)>;  // runs on the writer thread

  struct Limits {
    std::uint64_t total_queue_bytes = 256u << 20;  // all sessions together
    std::chrono::milliseconds flush_interval{1000};
    std::uint64_t flush_bytes = 1u << 20;  // a file's pending bytes that trigger a flush (one zstd frame)
    std::chrono::seconds prune_interval{60};
  };

  // One session's recording: push() from the session's thread, the rest on the writer thread.
  class Recording : public std::enable_shared_from_this<Recording> {
   public:
    // false: refused (queue full, or the recording failed): nothing was queued.
    // `congested` says whether the queue is over half full now.
    bool push(record::BlockType type, std::uint64_t time_us, std::span<const std::uint8_t> bytes, bool& congested);
    // Over half the queue is waiting; false again once it is down to a quarter.
    bool congested();
    // A note block (record::BlockType::note); queued even when the queue is full.
    void note(std::uint64_t time_us, const std::string& text);
    // The last call: writes the trailer and closes the file (then `finished`, or `failed`).
    void finish(const record::Trailer& trailer);
    // Ends it without a trailer (the file reads as truncated), e.g. after a failure.
    void abandon();
    // Tee mode, for a relay that splices: the write end of a pipe the relay
    // tee(2)s the server's bytes into (-1 when no pipe could be made), and
    // teed() after each tee: `size` bytes at `time_us` are one block. The pipe
    // is this recording's queue then (its capacity bounds it, in the kernel).
    int tee_pipe();
    bool teed(std::uint64_t time_us, std::size_t size);  // false: failed or ended, stop teeing
    std::uint64_t queued_bytes() const;
    bool failed() const;  // the file could not be created or written

   private:
    friend class RecorderService;
    Recording(RecorderService& service, record::WriterOptions options, record::Header header, std::uint64_t limit,
              Callback callback)
        : service_(service), options_(std::move(options)), header_(std::move(header)), limit_(limit),
          callback_(std::move(callback)) {}
    RecorderService& service_;
    record::WriterOptions options_;
    record::Header header_;
    std::uint64_t limit_;
    Callback callback_;
    // Guarded by the service's mutex.
    std::uint64_t queued_ = 0;
    bool congested_ = false;
    bool failed_ = false;
    bool ended_ = false;  // finish() or abandon() was called
    // Tee mode: the relay writes it, the writer thread reads it.
    std::optional<relay::Pipe> pipe_;
    // Writer thread only.
    std::unique_ptr<record::RecordingWriter> writer_;
    std::chrono::steady_clock::time_point last_flush_{};
  };

  // The thread starts with the first recording: after the process dropped its
  // privileges, so it never writes with more rights than the rest.
  explicit RecorderService(Limits limits);
  RecorderService() : RecorderService(Limits{}) {}
  ~RecorderService();  // writes out what is queued, leaves open files as truncated, joins
  RecorderService(const RecorderService&) = delete;
  RecorderService& operator=(const RecorderService&) = delete;

  // Queues the file's creation; the callback reports `started` or `failed`.
  // Called from one thread (the io thread).
  std::shared_ptr<Recording> start(record::WriterOptions options, record::Header header, std::uint64_t queue_limit,
                                   Callback callback);
  // Each recording directory and how long files stay there (replaces the
  // last set); pruned on the writer thread.
  void set_retention(std::map<std::filesystem::path, record::RetentionPolicy> dirs);
  // Waits until everything queued so far is on disk (tests, shutdown).
  void drain();

 private:
  struct Job {
    enum class Kind { open, block, piped_block, finish, abandon } kind = Kind::block;
    std::shared_ptr<Recording> recording;
    record::Block block;  // piped_block: type and time; the payload waits in the tee pipe
    record::Trailer trailer;
    std::size_t piped = 0;
  };
  void run();
  void handle(Job& job);
  void flush(Recording& recording, bool force);
  void fail(Recording& recording, std::string error);
  void prune_all(const std::set<std::filesystem::path>& only_dirs);

  Limits limits_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::condition_variable drained_;
  std::deque<Job> jobs_;
  std::uint64_t total_queued_ = 0;
  bool busy_ = false;
  bool stopping_ = false;
  std::map<std::filesystem::path, record::RetentionPolicy> retention_;
  // Writer thread only.
  std::set<std::shared_ptr<Recording>> open_;
  std::thread thread_;  // last: starts after everything above exists
};

}  // namespace vhm::proxy
