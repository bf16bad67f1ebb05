#pragma once
// Command-line options. Either --config FILE (the form systemd units use),
// optionally with --listen/--target pairs that add listeners to the file's,
// or quick mode: --listen/--target pairs with events printed to stdout.
#include <optional>
#include <string>
#include <vector>

namespace vhm::app {

struct CliOptions {
  std::string config_file;
  bool check_config = false;
  std::vector<std::string> listen;
  std::vector<std::string> target;
  bool verbose = false;
  std::string log_level;  // overrides the config's when set
  bool show_help = false;
  bool show_version = false;
  std::string help_text;
};

// Returns nullopt and prints a usage error to stderr when the arguments are wrong.
std::optional<CliOptions> parse_cli(int argc, char** argv);

}  // namespace vhm::app
