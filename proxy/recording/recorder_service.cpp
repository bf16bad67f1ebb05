#include "proxy/recording/recorder_service.hpp"

#include "util/log.hpp"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace vhm::proxy {

using Clock = std::chrono::steady_clock;

RecorderService::RecorderService(Limits limits) : limits_(limits) {}

RecorderService::~RecorderService() {
  if (!thread_.joinable()) return;
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

std::shared_ptr<RecorderService::Recording> RecorderService::start(record::WriterOptions options,
                                                                   record::Header header,
                                                                   std::uint64_t queue_limit, Callback callback) {
  if (!thread_.joinable()) thread_ = std::thread([this] { run(); });
  std::shared_ptr<Recording> recording(
      new Recording(*this, std::move(options), std::move(header), queue_limit, std::move(callback)));
  bool wake = false;
  {
    std::lock_guard lock(mutex_);
    wake = !busy_;  // a busy writer looks at the queue again before it sleeps
    jobs_.push_back(Job{Job::Kind::open, recording, {}, {}});
  }
  if (wake) wake_.notify_one();
  return recording;
}

bool RecorderService::Recording::push(record::BlockType type, std::uint64_t time_us,
                                      std::span<const std::uint8_t> bytes, bool& congested) {
  auto& service = service_;
  bool wake = false;
  {
    std::lock_guard lock(service.mutex_);
    if (failed_ || ended_) return false;
    if (queued_ + bytes.size() > limit_ || service.total_queued_ + bytes.size() > service.limits_.total_queue_bytes)
      return false;
    queued_ += bytes.size();
    service.total_queued_ += bytes.size();
    if (queued_ > limit_ / 2) congested_ = true;
    congested = congested_;
    Job job{Job::Kind::block, shared_from_this(), {}, {}};
    job.block.type = type;
    job.block.time_us = time_us;
    job.block.payload.assign(bytes.begin(), bytes.end());
    wake = !service.busy_;  // a busy writer looks at the queue again before it sleeps
    service.jobs_.push_back(std::move(job));
  }
  if (wake) service.wake_.notify_one();
  return true;
}

void RecorderService::Recording::note(std::uint64_t time_us, const std::string& text) {
  bool wake = false;
  {
    std::lock_guard lock(service_.mutex_);
    if (failed_ || ended_) return;
    Job job{Job::Kind::block, shared_from_this(), {}, {}};
    job.block.type = record::BlockType::note;
    job.block.time_us = time_us;
    job.block.payload.assign(text.begin(), text.end());
    queued_ += text.size();
    service_.total_queued_ += text.size();
    wake = !service_.busy_;  // a busy writer looks at the queue again before it sleeps
    service_.jobs_.push_back(std::move(job));
  }
  if (wake) service_.wake_.notify_one();
}

void RecorderService::Recording::finish(const record::Trailer& trailer) {
  bool wake = false;
  {
    std::lock_guard lock(service_.mutex_);
    if (ended_) return;
    ended_ = true;
    Job job{Job::Kind::finish, shared_from_this(), {}, trailer};
    wake = !service_.busy_;  // a busy writer looks at the queue again before it sleeps
    service_.jobs_.push_back(std::move(job));
  }
  if (wake) service_.wake_.notify_one();
}

void RecorderService::Recording::abandon() {
  bool wake = false;
  {
    std::lock_guard lock(service_.mutex_);
    if (ended_) return;
    ended_ = true;
    wake = !service_.busy_;  // a busy writer looks at the queue again before it sleeps
    service_.jobs_.push_back(Job{Job::Kind::abandon, shared_from_this(), {}, {}});
  }
  if (wake) service_.wake_.notify_one();
}

std::uint64_t RecorderService::Recording::queued_bytes() const {
  std::lock_guard lock(service_.mutex_);
  return queued_;
}

namespace {

constexpr int tee_pipe_size = 1 << 20;  // the default pipe-max-size: fewer, larger tees

// The bytes are in the pipe already (teed before the job was queued).
bool read_exactly(int fd, std::span<std::uint8_t> out) {
  while (!out.empty()) {
    const ssize_t n = ::read(fd, out.data(), out.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    out = out.subspan(static_cast<std::size_t>(n));
  }
  return true;
}

}  // namespace

int RecorderService::Recording::tee_pipe() {
  if (!pipe_) pipe_.emplace(tee_pipe_size);
  return pipe_->ok() ? pipe_->write_end() : -1;
}

bool RecorderService::Recording::teed(std::uint64_t time_us, std::size_t size) {
  bool wake = false;
  {
    std::lock_guard lock(service_.mutex_);
    if (failed_ || ended_) return false;
    Job job{Job::Kind::piped_block, shared_from_this(), {}, {}};
    job.block.type = record::BlockType::server_data;
    job.block.time_us = time_us;
    job.piped = size;
    wake = !service_.busy_;  // a busy writer looks at the queue again before it sleeps
    service_.jobs_.push_back(std::move(job));
  }
  if (wake) service_.wake_.notify_one();
  return true;
}

bool RecorderService::Recording::congested() {
  std::lock_guard lock(service_.mutex_);
  if (congested_ && queued_ <= limit_ / 4) congested_ = false;
  return congested_ && !failed_;
}

bool RecorderService::Recording::failed() const {
  std::lock_guard lock(service_.mutex_);
  return failed_;
}

void RecorderService::set_retention(std::map<std::filesystem::path, record::RetentionPolicy> dirs) {
  std::lock_guard lock(mutex_);
  retention_ = std::move(dirs);
}

void RecorderService::drain() {
  if (!thread_.joinable()) return;
  std::unique_lock lock(mutex_);
  drained_.wait(lock, [this] { return jobs_.empty() && !busy_; });
}

void RecorderService::run() {
  auto next_prune = Clock::now() + limits_.prune_interval;
  std::unique_lock lock(mutex_);
  for (;;) {
    wake_.wait_until(lock, Clock::now() + limits_.flush_interval, [this] { return stopping_ || !jobs_.empty(); });
    std::deque<Job> batch;
    batch.swap(jobs_);
    busy_ = true;
    const bool stopping = stopping_;
    lock.unlock();
    for (auto& job : batch) handle(job);
    // Every open file reaches the disk at least once per flush interval.
    for (const auto& recording : open_) flush(*recording, false);
    if (Clock::now() >= next_prune) {
      prune_all({});
      next_prune = Clock::now() + limits_.prune_interval;
    }
    lock.lock();
    busy_ = false;
    if (jobs_.empty()) drained_.notify_all();
    if (stopping && jobs_.empty()) break;
  }
  lock.unlock();
  // Sessions still recording at exit: their files stay readable, as truncated.
  for (const auto& recording : open_) flush(*recording, true);
  open_.clear();
}

void RecorderService::handle(Job& job) {
  Recording& recording = *job.recording;
  const auto release = [&](std::uint64_t bytes) {
    std::lock_guard lock(mutex_);
    recording.queued_ -= bytes;
    total_queued_ -= bytes;
  };
  switch (job.kind) {
    case Job::Kind::open: {
      std::string error;
      int error_number = 0;
      // Here, on the writer thread: the recording directory is made on first
      // use by the user the proxy runs as after its privilege drop.
      recording.writer_ = record::RecordingWriter::create(recording.options_, recording.header_, error, &error_number);
      if (!recording.writer_) {
        fail(recording, error);
        return;
      }
      recording.last_flush_ = Clock::now();
      open_.insert(job.recording);
      if (recording.callback_)
        recording.callback_({RecordingReport::Kind::started, recording.options_.path, recording.writer_->file_bytes(), {}});
      return;
    }
    case Job::Kind::block: {
      const auto size = job.block.payload.size();
      if (recording.writer_) {
        recording.writer_->append(job.block);
        if (recording.writer_->pending_bytes() >= limits_.flush_bytes) flush(recording, true);
      }
      release(size);
      return;
    }
    case Job::Kind::piped_block: {
      if (!recording.writer_) return;  // failed: the pipe goes with the recording
      const bool read = recording.writer_->append_filled(
          job.block.type, job.block.time_us, job.piped,
          [&](std::span<std::uint8_t> out) { return read_exactly(recording.pipe_->read_end(), out); });
      if (!read) {
        fail(recording, "cannot read the recording's tee pipe: " + std::string(std::strerror(errno)));
        return;
      }
      if (recording.writer_->pending_bytes() >= limits_.flush_bytes) flush(recording, true);
      return;
    }
    case Job::Kind::finish: {
      if (!recording.writer_) {  // it failed before: say so again, the session waits for an answer
        if (recording.callback_)
          recording.callback_({RecordingReport::Kind::failed, recording.options_.path, 0, "the recording failed earlier"});
        return;
      }
      std::string error;
      if (!recording.writer_->finish(job.trailer, error)) {
        fail(recording, error);
      } else if (recording.callback_) {
        recording.callback_({RecordingReport::Kind::finished, recording.options_.path, recording.writer_->file_bytes(), {}});
      }
      const auto dir = recording.options_.path.parent_path();
      recording.writer_.reset();
      std::erase_if(open_, [&](const auto& open) { return open.get() == &recording; });
      prune_all({dir});
      return;
    }
    case Job::Kind::abandon: {
      if (recording.writer_) {
        std::string ignored;
        recording.writer_->flush(ignored);
      }
      recording.writer_.reset();
      std::erase_if(open_, [&](const auto& open) { return open.get() == &recording; });
      return;
    }
  }
}

void RecorderService::flush(Recording& recording, bool force) {
  if (!recording.writer_ || recording.writer_->pending_bytes() == 0) return;
  const auto now = Clock::now();
  if (!force && now - recording.last_flush_ < limits_.flush_interval &&
      recording.writer_->pending_bytes() < limits_.flush_bytes)
    return;
  recording.last_flush_ = now;
  std::string error;
  if (!recording.writer_->flush(error)) fail(recording, error);
}

void RecorderService::fail(Recording& recording, std::string error) {
  {
    std::lock_guard lock(mutex_);
    if (recording.failed_) return;
    recording.failed_ = true;
  }
  if (recording.callback_)
    recording.callback_({RecordingReport::Kind::failed, recording.options_.path,
                         recording.writer_ ? recording.writer_->file_bytes() : 0, std::move(error)});
  // Keep the writer: nothing more is written, and its file stays as far as it got (truncated).
  recording.writer_.reset();
  std::erase_if(open_, [&](const auto& open) { return open.get() == &recording; });
}

void RecorderService::prune_all(const std::set<std::filesystem::path>& only_dirs) {
  std::map<std::filesystem::path, record::RetentionPolicy> dirs;
  {
    std::lock_guard lock(mutex_);
    dirs = retention_;
  }
  std::set<std::filesystem::path> in_use;
  for (const auto& recording : open_) in_use.insert(recording->options_.path);
  for (const auto& entry : dirs) {
    // Not a structured binding: clang 14 cannot capture one in a lambda.
    const std::filesystem::path& dir = entry.first;
    const record::RetentionPolicy& policy = entry.second;
    if (!policy.max_age && !policy.max_total_size) continue;
    if (!only_dirs.empty() && !std::any_of(only_dirs.begin(), only_dirs.end(), [&](const auto& d) {
          const auto rel = d.lexically_relative(dir);
          return !rel.empty() && *rel.begin() != "..";
        }))
      continue;
    const auto result = record::prune(dir, policy, std::chrono::system_clock::now(), in_use);
    for (const auto& path : result.removed) spdlog::info("recording: pruned {} (retention)", path.string());
    for (const auto& error : result.errors) spdlog::error("recording: retention in {}: {}", dir.string(), error);
  }
}

}  // namespace vhm::proxy
