#include "app/ctl_command.hpp"
#include "app/subcommand_line.hpp"

#include <boost/program_options.hpp>
#include <iostream>

#include "conf/config_loader.hpp"
#include "control/ctl_client.hpp"

namespace vhm::app {
namespace po = boost::program_options;
namespace {

constexpr const char* default_config = "/etc/vnc-hooks-manager/config.yaml";

constexpr const char* ctl_usage =
    "Usage:\n"
    "  vnc-hooks-manager ctl [--config FILE | --socket PATH] [--json] sessions\n"
    "  vnc-hooks-manager ctl [--config FILE | --socket PATH] [--json] bans\n"
    "  vnc-hooks-manager ctl [--config FILE | --socket PATH] [--json] unban ADDRESS\n"
    "  vnc-hooks-manager ctl [--config FILE | --socket PATH] [--json] kill SESSION_ID\n"
    "\n"
    "Asks the running proxy through its control socket (`control: socket:` in the\n"
    "configuration). Only root and the user the proxy runs as may use it.\n"
    "  sessions  live sessions: id, client, target, user, security, state, age, bytes in/out\n"
    "  bans      ban table: key, failures in the window, banned until, ban level\n"
    "  unban     forget the failures and the ban of ADDRESS's key\n"
    "  kill      end a session (its disconnect event has reason \"killed\")\n"
    "\nOptions";

int usage_error(const std::string& message) {
  std::cerr << "vnc-hooks-manager ctl: " << message << "\nTry 'vnc-hooks-manager ctl --help'.\n";
  return control::ctl_exit_usage;
}

// The socket path from the configuration file; nullopt (message printed) when
// the file is invalid or has no control socket.
std::optional<std::filesystem::path> socket_from_config(const std::string& file) {
  conf::LoadOptions options;
  options.require_listeners = false;  // the proxy may take its listeners from --listen
  const auto loaded = conf::load_config_file(file, options);
  if (!loaded.ok()) {
    std::cerr << "vnc-hooks-manager ctl: invalid configuration " << file << " (" << loaded.problems.size()
              << " problem" << (loaded.problems.size() == 1 ? "" : "s") << "):\n";
    for (const auto& problem : loaded.problems) std::cerr << problem.to_string() << '\n';
    return std::nullopt;
  }
  if (loaded.config->control_socket.empty()) {
    std::cerr << "vnc-hooks-manager ctl: " << file
              << " has no `control: socket:`, so the proxy has no control socket; add one and restart it\n";
    return std::nullopt;
  }
  return loaded.config->control_socket;
}

}  // namespace

int run_ctl_command(int argc, char** argv) {
  control::CtlOptions options;
  std::string config_file;
  std::string socket;
  bool show_help = false;
  std::vector<std::string> words;

  po::options_description description(ctl_usage);
  description.add_options()
      ("config,c", po::value(&config_file)->value_name("FILE"),
       (std::string("configuration that names the socket (default ") + default_config + ")").c_str())
      ("socket,s", po::value(&socket)->value_name("PATH"), "control socket path, instead of --config")
      ("json", po::bool_switch(&options.json), "print the proxy's JSON response as it came")
      ("help,h", po::bool_switch(&show_help), "print this help and exit");
  auto line = parse_subcommand_line(argc, argv, description);
  if (!line.error.empty()) return usage_error(line.error);
  words = std::move(line.words);
  if (show_help) {
    std::cout << description
              << "\nExit status: 0 ok; 1 when the proxy reports an error, cannot be reached, or the\n"
                 "configuration is invalid; 2 for usage errors.\n";
    return control::ctl_exit_ok;
  }
  if (!config_file.empty() && !socket.empty()) return usage_error("use either --config or --socket, not both");
  std::string error;
  if (!control::request_from_words(words, error)) return usage_error(error);

  if (!socket.empty()) {
    options.socket = socket;
  } else {
    auto path = socket_from_config(config_file.empty() ? default_config : config_file);
    if (!path) return control::ctl_exit_error;
    options.socket = *path;
  }
  options.words = std::move(words);
  return control::run_ctl(options, std::cout, std::cerr);
}

}  // namespace vhm::app
