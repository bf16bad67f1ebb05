#pragma once
// One viewer watching the recording: one coroutine that owns its socket and
// runs two loops joined with &&: one reads and frames the viewer's messages
// for as long as it stays (so its input never backs up), the other streams
// the recorded server bytes, paced, one block in memory at a time (a slow
// viewer slows the reading of the file, never grows a buffer). Playback
// starts at the viewer's first FramebufferUpdateRequest, after its
// SetPixelFormat and SetEncodings were checked against the recording.
#include <chrono>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "player/asio.hpp"
#include "player/pacing.hpp"
#include "player/playable.hpp"
#include "player/recorded_viewer.hpp"

namespace vhm::player {

struct PlaybackSettings {
  const Playable* playable = nullptr;
  std::vector<std::uint8_t> server_init;  // the message every viewer gets
  std::string password;                   // empty: security None
  Pace pace;
  bool loop = false;  // at the end, close the connection (a reconnecting viewer starts over)
  std::chrono::milliseconds handshake_timeout{30000};
  std::chrono::milliseconds loop_close_grace{5000};  // for the viewer to close after our end of stream
};

class ViewerSession {
 public:
  ViewerSession(tcp::socket socket, const PlaybackSettings& settings);
  ViewerSession(const ViewerSession&) = delete;
  ViewerSession& operator=(const ViewerSession&) = delete;

  awaitable<void> run();
  void stop(const std::string& why);  // player shutdown: ends this viewer now
  const std::string& name() const { return name_; }

 private:
  awaitable<bool> handshake();
  awaitable<void> read_messages();
  awaitable<void> stream_recording();
  awaitable<void> wait_until_playing();
  awaitable<bool> send_block(std::span<const std::uint8_t> payload, std::uint64_t due_us);
  awaitable<void> finish_stream(bool complete);
  // false: the viewer was refused or the stream cannot be followed (closed).
  bool consume(std::span<const std::uint8_t> bytes);
  bool handle_message(std::span<const std::uint8_t> message);
  bool check_compatible(const char* when);
  // Why the recorded bytes after these recorded-viewer messages cannot be shown.
  std::optional<std::string> recorded_viewer_change(const std::vector<RecordedViewerChange>& changes,
                                                    std::uint64_t time_us) const;
  void end();

  tcp::socket socket_;
  asio::steady_timer timer_;  // the streamer's waits (start, pacing); cancelled by end()
  const PlaybackSettings& settings_;
  std::string name_;  // "viewer 127.0.0.1:40000"
  std::chrono::steady_clock::time_point connected_;
  std::chrono::steady_clock::time_point playback_start_;
  record::PixelFormat viewer_format_;
  std::optional<std::vector<std::int32_t>> viewer_encodings_;
  std::vector<std::uint8_t> pending_;  // start of an incomplete viewer message
  std::uint64_t skip_ = 0;             // rest of a large message nobody needs (clipboard)
  std::uint64_t bytes_sent_ = 0;       // recorded bytes sent
  bool playing_ = false;
  bool closing_ = false;
};

}  // namespace vhm::player
