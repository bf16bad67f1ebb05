#pragma once
// The recorder as a relay tap: from the end of the handshake it copies what
// the relay moves into the session's recording (RecorderService), minus what
// must not be kept: the viewer's key, pointer and clipboard messages unless
// `include_input`. The handshake itself is never recorded (its facts are in
// the header), so no challenge, response, password or key ever is.
//
// The file is created once the viewer has said how it wants its updates
// (SetPixelFormat, SetEncodings: they go into the header) - at its first
// other message, the server's first update, or the session's end.
//
// Failures (queue full, disk error) go to `on_failure` once; the session
// applies `on_error`. From then on the tap wants no more bytes.
#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "conf/config.hpp"
#include "proxy/asio.hpp"
#include "proxy/recording/recorder_service.hpp"
#include "proxy/relay/tap.hpp"
#include "record/format.hpp"
#include "rfb/client_messages.hpp"

namespace vhm::proxy {

class RecorderTap final : public relay::Tap {
 public:
  struct Callbacks {  // all run on the session's executor; all must be set
    std::function<void(const std::filesystem::path&)> started;
    // Once, at the moment recording fails: the session applies `on_error`.
    std::function<void(const std::string& error)> on_error;
    // Once, for the event and the log: after `started` if the file was created.
    std::function<void(const std::string& error)> failed;
    std::function<void(const std::filesystem::path&, std::uint64_t file_bytes)> finished;
  };

  RecorderTap(RecorderService& service, const conf::RecordingConfig& config, record::Header header,
              std::filesystem::path path, asio::any_io_executor executor, Callbacks callbacks);
  ~RecorderTap() override;
  RecorderTap(const RecorderTap&) = delete;
  RecorderTap& operator=(const RecorderTap&) = delete;

  // The bytes the handshake parser saw past the handshake, first.
  void start(std::span<const std::uint8_t> viewer_bytes, std::span<const std::uint8_t> server_bytes);
  void on_bytes(rfb::Direction direction, std::span<const std::uint8_t> bytes) override;
  Need needs(rfb::Direction direction) const override;
  // Tee mode: the server's bytes (server -> viewer, relayed by splice).
  int tee_fd(rfb::Direction direction) override;
  void teed(rfb::Direction direction, std::size_t size) override;
  // The writer is behind (the copy queue over half full): checked under the
  // queue's lock only after a push said so, not on every chunk.
  bool congested() const override { return behind_ && phase_ == Phase::recording && recording_->congested(); }
  void fell_behind(std::chrono::milliseconds waited) override;
  void give_up(const std::string& why) override { stop(why); }  // the recording cannot go on (on_error applies)

  // The session is over: writes the trailer. `relayed_*`: bytes each way since
  // the handshake ended. `done` runs once the file is closed (or failed).
  void end(const std::string& reason, std::uint64_t relayed_server, std::uint64_t relayed_viewer,
           std::function<void()> done);
  const std::filesystem::path& path() const { return path_; }
  bool writing() const { return phase_ == Phase::recording; }  // the file is open and the session goes into it

 private:
  enum class Phase { settling, recording, stopped, ended };
  struct Link;  // lets writer-thread reports find this tap, or nothing once it is gone

  void open();
  void record_viewer(std::span<const std::uint8_t> bytes);
  void capture_setting(const rfb::ClientMessageFramer::Piece& piece);
  void record_server(std::span<const std::uint8_t> bytes);
  bool push(record::BlockType type, std::span<const std::uint8_t> bytes);  // false: not recorded
  void stop(const std::string& why);
  void report_failure(const std::string& why);
  void on_report(const RecordingReport& report);
  std::uint64_t now_us() const;

  RecorderService& service_;
  const conf::RecordingConfig config_;
  record::Header header_;
  std::filesystem::path path_;
  asio::any_io_executor executor_;
  Callbacks callbacks_;
  std::shared_ptr<Link> link_;
  std::shared_ptr<RecorderService::Recording> recording_;
  Phase phase_ = Phase::settling;
  std::chrono::steady_clock::time_point started_;
  rfb::ClientMessageFramer framer_;
  bool viewer_followed_ = true;         // false once the framer lost the viewer stream
  bool tee_unavailable_ = false;        // no tee pipe: the server's bytes come as copies
  bool behind_ = false;                 // the last push left the queue congested
  std::vector<std::uint8_t> kept_;      // this chunk's viewer bytes to record
  std::vector<std::uint8_t> settling_;  // viewer bytes kept before the file exists
  std::vector<std::uint8_t> message_;   // SetPixelFormat / SetEncodings being captured for the header
  std::uint64_t recorded_server_ = 0;
  std::uint64_t recorded_viewer_ = 0;
  bool failure_reported_ = false;
  bool writer_failed_ = false;  // the file cannot be written any more (its report came)
  bool started_reported_ = false;
  std::optional<std::string> held_failure_;  // waits for `started`
  std::function<void()> done_;
};

}  // namespace vhm::proxy
