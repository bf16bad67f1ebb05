#pragma once
// `vnc-hooks-manager play FILE ...`: serves a recording to VNC viewers
// (player/player.hpp). This file only turns the command line into
// player::PlayOptions and sets up logging.
namespace vhm::app {

// argv[1] is "play". Returns the process exit status: 0 stopped (signal or
// --max-viewers), 1 cannot listen, 2 usage, 4 the file cannot be played.
int run_play_command(int argc, char** argv);

}  // namespace vhm::app
