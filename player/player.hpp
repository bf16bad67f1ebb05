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
  bool loop = false;                      // start again at the end (the viewer reconnects? no: see docs)
  double start_seconds = 0;               // skip ahead: bytes before it are sent at once
  std::string password;                   // non-empty: VncAuth instead of None
  std::optional<std::size_t> max_viewers; // stop after this many viewers were served (tests, scripts)
};

// Runs until SIGINT/SIGTERM (or max_viewers). Returns the process exit code;
// prints clear errors to stderr (bad file, address in use, ...).
int run_player(const PlayOptions& options);

}  // namespace vhm::player
