#pragma once
// `vnc-hooks-manager play FILE`: serves a recording to standard VNC viewers.
// Each viewer gets its own RFB 3.8 handshake (security type None, or VncAuth
// with --password), the recorded ServerInit (size, desktop name, the recorded
// viewer's pixel format), then the recorded server -> viewer bytes at the
// recorded pace divided by `speed`. A viewer whose pixel format or encodings
// cannot show the recorded bytes is told so in the log and disconnected
// before any update is sent: never garbage.
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

namespace vhm::player {

struct PlayOptions {
  std::filesystem::path file;
  std::string listen = "127.0.0.1:5950";  // host:port; port 0 picks one (printed on stdout)
  double speed = 1.0;                     // > 0; 2 = twice as fast
  // At the end, close each viewer's connection (after the last byte) so that a
  // reconnecting viewer starts over; a VNC stream cannot restart in place.
  bool loop = false;
  double start_seconds = 0;               // skip ahead: bytes before it are sent at once
  std::string password;                   // non-empty: VncAuth instead of None
  std::optional<std::size_t> max_viewers; // stop after this many viewers were served (tests, scripts)
};

// Runs until SIGINT/SIGTERM (or max_viewers). Returns the process exit code:
// 0 stopped, 1 cannot listen, 2 bad option value, 4 the file cannot be played
// (unreadable, not a recording, content not visible); prints clear errors to
// stderr. Prints "playing FILE on HOST:PORT" on stdout once listening.
int run_player(const PlayOptions& options);

}  // namespace vhm::player
