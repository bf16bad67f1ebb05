#include "proxy/recording/recorder_tap.hpp"

#include "util/log.hpp"

#include <string>

#include <boost/asio/post.hpp>

namespace vhm::proxy {

namespace {

constexpr std::size_t max_settling_bytes = 64 * 1024;  // a viewer that sends this much before asking for updates
constexpr std::size_t max_encodings_captured = 1024;   // longer SetEncodings lists are not put in the header

record::WriterOptions writer_options(const conf::RecordingConfig& config, const std::filesystem::path& path) {
  record::WriterOptions options;
  options.path = path;
  options.base_dir = config.dir;  // subdirectories of the name template: created, never through a link
  options.mode = config.mode;
  options.compression =
      config.compression == conf::RecordingCompression::zstd ? record::Compression::zstd : record::Compression::none;
  options.zstd_level = config.zstd_level;
  return options;
}

}  // namespace

struct RecorderTap::Link {
  RecorderTap* tap = nullptr;
};

RecorderTap::RecorderTap(RecorderService& service, const conf::RecordingConfig& config, record::Header header,
                         std::filesystem::path path, asio::any_io_executor executor, Callbacks callbacks)
    : service_(service),
      config_(config),
      header_(std::move(header)),
      path_(std::move(path)),
      executor_(std::move(executor)),
      callbacks_(std::move(callbacks)),
      link_(std::make_shared<Link>(Link{this})),
      started_(std::chrono::steady_clock::now()) {
  header_.include_input = config_.include_input;
  header_.compression = writer_options(config_, path_).compression;
}

RecorderTap::~RecorderTap() {
  link_->tap = nullptr;
  if (recording_ && phase_ != Phase::ended) recording_->abandon();
}

std::uint64_t RecorderTap::now_us() const {
  return static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - started_).count());
}

void RecorderTap::start(std::span<const std::uint8_t> viewer_bytes, std::span<const std::uint8_t> server_bytes) {
  // What cannot be seen is recorded as such: a header saying why, no ciphertext.
  if (!header_.content_visible) {
    open();
    phase_ = Phase::stopped;
    return;
  }
  if (!viewer_bytes.empty()) on_bytes(rfb::Direction::client_to_server, viewer_bytes);
  if (!server_bytes.empty()) on_bytes(rfb::Direction::server_to_client, server_bytes);
}

relay::Tap::Need RecorderTap::needs(rfb::Direction direction) const {
  if (phase_ == Phase::settling) return Need::copy;  // the header is not written yet
  if (phase_ != Phase::recording) return Need::nothing;
  if (direction == rfb::Direction::server_to_client) return tee_unavailable_ ? Need::copy : Need::tee;
  // The viewer's messages are sorted (input or not): they need copies, unless nothing of them is kept any more.
  return viewer_followed_ || config_.include_input ? Need::copy : Need::nothing;
}

int RecorderTap::tee_fd(rfb::Direction direction) {
  if (needs(direction) != Need::tee) return -1;
  const int fd = recording_->tee_pipe();
  if (fd < 0) tee_unavailable_ = true;
  return fd;
}

void RecorderTap::teed(rfb::Direction, std::size_t size) {
  if (recording_->teed(now_us(), size))
    recorded_server_ += size;
  else
    phase_ = Phase::stopped;  // failed (its report comes) or ended
}

void RecorderTap::on_bytes(rfb::Direction direction, std::span<const std::uint8_t> bytes) {
  if (phase_ != Phase::settling && phase_ != Phase::recording) return;
  if (direction == rfb::Direction::server_to_client) {
    if (phase_ == Phase::settling) open();
    record_server(bytes);
  } else {
    record_viewer(bytes);
  }
}

void RecorderTap::record_server(std::span<const std::uint8_t> bytes) {
  if (phase_ != Phase::recording) return;
  if (push(record::BlockType::server_data, bytes)) recorded_server_ += bytes.size();
}

void RecorderTap::record_viewer(std::span<const std::uint8_t> bytes) {
  kept_.clear();
  if (viewer_followed_) {
    const bool framed = framer_.feed(bytes, [&](const rfb::ClientMessageFramer::Piece& piece) {
      namespace m = rfb::client_message;
      const bool setting = piece.type == m::set_pixel_format || piece.type == m::set_encodings;
      if (phase_ == Phase::settling) {
        if (!setting && piece.first) {
          // The viewer asks for updates now: what it asked for so far is the header's.
          settling_.insert(settling_.end(), kept_.begin(), kept_.end());
          kept_.clear();
          open();
        } else if (setting) {
          capture_setting(piece);
        }
      }
      if (config_.include_input || !rfb::is_viewer_input(piece.type))
        kept_.insert(kept_.end(), piece.bytes.begin(), piece.bytes.end());
    });
    if (!framed) {
      viewer_followed_ = false;
      const std::string why = "viewer stream not followed after byte " + std::to_string(framer_.offset()) + ": " +
                              framer_.error() +
                              (config_.include_input ? "; its later bytes (from the next read on) are recorded unframed"
                                                     : "; its later messages are not recorded");
      spdlog::warn("recording {}: {}", path_.string(), why);
      if (phase_ == Phase::settling) {
        settling_.insert(settling_.end(), kept_.begin(), kept_.end());
        kept_.clear();
        open();
      }
      if (recording_) recording_->note(now_us(), why);
    }
  } else if (config_.include_input) {
    kept_.assign(bytes.begin(), bytes.end());
  }
  if (phase_ == Phase::settling) {
    settling_.insert(settling_.end(), kept_.begin(), kept_.end());
    if (settling_.size() > max_settling_bytes) {
      kept_.swap(settling_);
      settling_.clear();
      open();
    } else {
      return;
    }
  }
  if (phase_ == Phase::recording && push(record::BlockType::viewer_data, kept_)) recorded_viewer_ += kept_.size();
}

// SetPixelFormat / SetEncodings before the first request: the header's.
void RecorderTap::capture_setting(const rfb::ClientMessageFramer::Piece& piece) {
  if (piece.first) message_.clear();
  if (message_.size() + piece.bytes.size() <= 4 + 4 * max_encodings_captured)
    message_.insert(message_.end(), piece.bytes.begin(), piece.bytes.end());
  if (!piece.last) return;
  if (piece.type == rfb::client_message::set_pixel_format && message_.size() == 20) {
    header_.viewer_pixel_format = record::pixel_format_of_message(message_);
  } else if (piece.type == rfb::client_message::set_encodings) {
    const std::size_t count = message_.size() >= 4 ? (std::size_t{message_[2]} << 8 | message_[3]) : 0;
    if (message_.size() == 4 + 4 * count)
      header_.viewer_encodings = record::encodings_of_message(message_);
    else
      header_.viewer_encodings.reset();  // too long to keep: better none than a wrong list
  }
}

void RecorderTap::open() {
  if (recording_) return;
  phase_ = Phase::recording;
  header_.start_unix_us = std::chrono::duration_cast<std::chrono::microseconds>(
                              std::chrono::system_clock::now().time_since_epoch() -
                              (std::chrono::steady_clock::now() - started_))
                              .count();
  recording_ = service_.start(writer_options(config_, path_), header_, config_.queue_size,
                              [link = link_, executor = executor_](const RecordingReport& report) {
                                asio::post(executor, [link, report] {
                                  if (link->tap) link->tap->on_report(report);
                                });
                              });
  if (push(record::BlockType::viewer_data, settling_)) recorded_viewer_ += settling_.size();
  settling_.clear();
}

bool RecorderTap::push(record::BlockType type, std::span<const std::uint8_t> bytes) {
  if (phase_ != Phase::recording || bytes.empty()) return false;
  if (recording_->push(type, now_us(), bytes, behind_)) return true;
  if (recording_->failed()) {  // the writer's report says why
    phase_ = Phase::stopped;
    return false;
  }
  // The disk does not keep up: the stream cannot go on with a hole in it.
  stop("the disk did not keep up (" + std::to_string(config_.queue_size) +
       " bytes were waiting to be written); later bytes of the session are not in the recording");
  return false;
}

void RecorderTap::fell_behind(std::chrono::milliseconds waited) {
  stop("the disk did not keep up (the relay waited " + std::to_string(waited.count()) +
       " ms for the recording to be written); later bytes of the session are not in the recording");
}

void RecorderTap::stop(const std::string& why) {
  if (phase_ == Phase::stopped || phase_ == Phase::ended) return;
  phase_ = Phase::stopped;
  if (recording_) recording_->note(now_us(), "recording stopped: " + why);
  report_failure(why);
}

void RecorderTap::report_failure(const std::string& why) {
  if (failure_reported_) return;
  failure_reported_ = true;
  if (callbacks_.on_error) callbacks_.on_error(why);  // at once: close_session must not relay unrecorded bytes
  // The event comes after recording_started, which may still be on its way.
  if (started_reported_ || writer_failed_)
    callbacks_.failed(why);
  else
    held_failure_ = why;
}

void RecorderTap::end(const std::string& reason, std::uint64_t relayed_server, std::uint64_t relayed_viewer,
                      std::function<void()> done) {
  if (phase_ == Phase::ended) return;
  if (phase_ == Phase::settling) open();
  phase_ = Phase::ended;
  record::Trailer trailer;
  trailer.duration_us = now_us();
  trailer.server_bytes = relayed_server;
  trailer.viewer_bytes = relayed_viewer;
  trailer.recorded_server_bytes = recorded_server_;
  trailer.recorded_viewer_bytes = recorded_viewer_;
  if (header_.content_visible) {
    trailer.dropped_bytes = relayed_server > recorded_server_ ? relayed_server - recorded_server_ : 0;
    if (config_.include_input && relayed_viewer > recorded_viewer_) trailer.dropped_bytes += relayed_viewer - recorded_viewer_;
  }
  trailer.end_reason = reason;
  if (writer_failed_) {  // nothing more can be written: the file stays as far as it got
    recording_->abandon();
    if (done) done();
    return;
  }
  done_ = std::move(done);
  recording_->finish(trailer);
}

void RecorderTap::on_report(const RecordingReport& report) {
  switch (report.kind) {
    case RecordingReport::Kind::started:
      started_reported_ = true;
      if (callbacks_.started) callbacks_.started(report.path);
      if (held_failure_) callbacks_.failed(*std::exchange(held_failure_, std::nullopt));
      break;
    case RecordingReport::Kind::failed:
      writer_failed_ = true;
      if (phase_ != Phase::ended) phase_ = Phase::stopped;
      if (held_failure_) callbacks_.failed(*std::exchange(held_failure_, std::nullopt));
      report_failure(report.error);
      if (done_) std::exchange(done_, {})();
      break;
    case RecordingReport::Kind::finished:
      if (callbacks_.finished) callbacks_.finished(report.path, report.file_bytes);
      if (done_) std::exchange(done_, {})();
      break;
  }
}

}  // namespace vhm::proxy
