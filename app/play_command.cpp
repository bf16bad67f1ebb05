#include "app/play_command.hpp"
#include "app/subcommand_line.hpp"

#include <boost/program_options.hpp>
#include <cmath>
#include <iostream>

#include "app/logging.hpp"
#include "conf/address.hpp"
#include "player/player.hpp"

namespace vhm::app {
namespace po = boost::program_options;
namespace {

constexpr int play_exit_ok = 0;
constexpr int play_exit_error = 1;
constexpr int play_exit_usage = 2;

constexpr const char* play_usage =
    "Usage:\n"
    "  vnc-hooks-manager play FILE [--listen ADDR] [--speed X] [--start SECONDS] [--loop]\n"
    "                             [--password P] [--max-viewers N]\n"
    "\n"
    "Serves a recording (FILE.vhmrec) to any VNC viewer: each viewer that connects\n"
    "gets its own playback from the start, at the recorded pace (divided by --speed),\n"
    "beginning at its first update request. After the last recorded update the\n"
    "viewer keeps showing the final frame until it disconnects.\n"
    "The recorded updates are sent as they were recorded: a viewer must use the\n"
    "recording's pixel format and accept the recorded viewer's encodings, otherwise\n"
    "the player logs why and disconnects it before sending any update. Playback\n"
    "ends early (keeping the last frame) where the recorded viewer itself switched\n"
    "to a format or encoding the watching viewer cannot show.\n"
    "Prints \"playing FILE on HOST:PORT\" on stdout once listening.\n"
    "\nOptions";

int play_usage_error(const std::string& message) {
  std::cerr << "vnc-hooks-manager play: " << message << "\nTry 'vnc-hooks-manager play --help'.\n";
  return play_exit_usage;
}

}  // namespace

int run_play_command(int argc, char** argv) {
  player::PlayOptions options;
  std::string file;
  long long max_viewers = 0;
  std::string log_level = "info";
  bool verbose = false;
  bool show_help = false;

  po::options_description description(play_usage);
  description.add_options()
      ("listen,l", po::value(&options.listen)->value_name("ADDR")->default_value(options.listen),
       "address to serve on: 127.0.0.1:5950, [::1]:5950, :5950 (all addresses); port 0 picks a free one")
      ("speed", po::value(&options.speed)->value_name("X")->default_value(1.0, "1"),
       "playback speed: 2 is twice as fast, 0.5 half as fast")
      ("start", po::value(&options.start_seconds)->value_name("SECONDS")->default_value(0, "0"),
       "begin at this point of the recording: everything before it is sent at once")
      ("loop", po::bool_switch(&options.loop),
       "at the end of the recording, close the viewer's connection (after the last byte), so a "
       "viewer that reconnects sees the recording again from the start; without --loop the viewer "
       "keeps the last frame until it leaves. (A VNC stream cannot restart in place: the viewer's "
       "decoders keep state, such as zlib streams, from the recorded session.)")
      ("password", po::value(&options.password)->value_name("P"),
       "require this VNC password (VNC authentication; only its first 8 characters count); "
       "without it viewers connect with security None")
      ("max-viewers", po::value(&max_viewers)->value_name("N"),
       "accept N viewers, then exit once they all left (for tests and scripts)")
      ("log-level", po::value(&log_level)->value_name("LEVEL"), "trace, debug, info (default), warn, error, critical or off")
      ("verbose,v", po::bool_switch(&verbose), "same as --log-level debug")
      ("help,h", po::bool_switch(&show_help), "print this help and exit");
  const auto line = parse_subcommand_line(argc, argv, description, 1);
  if (!line.error.empty()) return play_usage_error(line.error);
  const auto& values = line.values;
  if (!line.words.empty()) file = line.words.front();
  if (show_help) {
    std::cout << description
              << "\nExit status: 0 stopped by SIGINT/SIGTERM or after --max-viewers viewers; 1 cannot listen;\n"
                 "2 usage; 4 FILE cannot be played (missing, unreadable, not a recording, damaged header,\n"
                 "or a session whose content the proxy could not see). A truncated or partly damaged\n"
                 "recording plays up to its last good block (logged as a warning).\n"
                 "Documentation: docs/recording.md.\n";
    return play_exit_ok;
  }
  if (file.empty()) return play_usage_error("no recording given: vnc-hooks-manager play FILE");
  if (!(options.speed > 0) || !std::isfinite(options.speed) || options.speed > 1e6)
    return play_usage_error("--speed must be a number above 0 (and at most 1000000)");
  if (!(options.start_seconds >= 0) || !std::isfinite(options.start_seconds))
    return play_usage_error("--start must be 0 or more seconds");
  if (values.count("max-viewers")) {
    if (max_viewers < 1) return play_usage_error("--max-viewers must be at least 1");
    options.max_viewers = static_cast<std::size_t>(max_viewers);
  }
  std::string error;
  if (!conf::parse_listen_address(options.listen, error)) return play_usage_error("--listen " + options.listen + ": " + error);
  options.file = file;

  if (auto problem = setup_logging({}, verbose ? "debug" : log_level)) return play_usage_error(*problem);
  try {
    return player::run_player(options);
  } catch (const std::exception& failure) {
    std::cerr << "vnc-hooks-manager play: " << failure.what() << '\n';
    return play_exit_error;
  }
}

}  // namespace vhm::app
