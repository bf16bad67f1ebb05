#include "app/cli.hpp"

#include <boost/program_options.hpp>
#include <iostream>
#include <sstream>

namespace vhm::app {
namespace po = boost::program_options;

std::optional<CliOptions> parse_cli(int argc, char** argv) {
  CliOptions options;
  po::options_description description(
      "Usage:\n"
      "  vnc-hooks-manager --config FILE            run with a YAML configuration\n"
      "  vnc-hooks-manager --config FILE --listen ADDR --target ADDR ...\n"
      "                                             the same, with more listeners than the file's\n"
      "                                             (a file without a listeners: section needs them)\n"
      "  vnc-hooks-manager --check-config --config FILE [--listen ADDR --target ADDR ...]\n"
      "  vnc-hooks-manager --listen ADDR --target ADDR [--listen ADDR --target ADDR ...]\n"
      "                                             quick mode: events printed to stdout as JSON lines\n"
      "  vnc-hooks-manager ctl [--config FILE | --socket PATH] [--json] sessions|bans|unban ADDRESS|kill ID\n"
      "                                             ask the running proxy (see 'vnc-hooks-manager ctl --help')\n"
      "  vnc-hooks-manager play FILE [--listen ADDR] [--speed X] [--password P] ...\n"
      "                                             serve a recording to VNC viewers ('play --help')\n"
      "  vnc-hooks-manager recording info FILE | list DIR | export FILE --fbs OUT\n"
      "                                             inspect or convert recordings ('recording --help')\n"
      "\n"
      "An RFB-aware proxy between VNC viewers and VNC servers that runs hooks when\n"
      "someone connects, authenticates (or fails to) and disconnects.\n"
      "\nOptions");
  description.add_options()
      ("config,c", po::value(&options.config_file)->value_name("FILE"), "YAML configuration file")
      ("check-config", po::bool_switch(&options.check_config), "validate the configuration, print every problem, exit")
      ("listen,l", po::value(&options.listen)->value_name("ADDR"),
       "listen address, e.g. 127.0.0.1:5910, [::1]:5910 or :5910 (repeatable); with --config, "
       "added to the file's listeners")
      ("target,t", po::value(&options.target)->value_name("ADDR"),
       "VNC server for the matching --listen, e.g. 127.0.0.1:5901 or :1 (repeatable)")
      ("log-level", po::value(&options.log_level)->value_name("LEVEL"),
       "trace, debug, info, warn, error, critical or off (overrides the configuration)")
      ("verbose,v", po::bool_switch(&options.verbose), "same as --log-level debug")
      ("version,V", po::bool_switch(&options.show_version), "print the version and exit")
      ("help,h", po::bool_switch(&options.show_help), "print this help and exit");

  std::ostringstream help;
  help << description
       << "\nExit status: 0 on a clean stop (SIGTERM/SIGINT) or a valid --check-config,\n"
          "1 for an invalid configuration or a listener that cannot be opened, 2 for usage errors.\n"
          "Documentation: README.md (events, placeholders, hook rules, troubleshooting).\n";
  options.help_text = help.str();

  try {
    po::variables_map values;
    po::store(po::command_line_parser(argc, argv).options(description).run(), values);
    po::notify(values);
  } catch (const po::error& error) {
    std::cerr << "vnc-hooks-manager: " << error.what() << "\nTry 'vnc-hooks-manager --help'.\n";
    return std::nullopt;
  }
  if (options.show_help || options.show_version) return options;

  auto usage_error = [](const std::string& message) -> std::optional<CliOptions> {
    std::cerr << "vnc-hooks-manager: " << message << "\nTry 'vnc-hooks-manager --help'.\n";
    return std::nullopt;
  };
  const bool quick_mode = !options.listen.empty() || !options.target.empty();
  if (options.listen.size() != options.target.size())
    return usage_error("every --listen needs a matching --target (got " + std::to_string(options.listen.size()) +
                       " --listen and " + std::to_string(options.target.size()) + " --target)");
  if (!quick_mode && options.config_file.empty())
    return usage_error("no configuration: give --config FILE, or --listen ADDR --target ADDR");
  return options;
}

}  // namespace vhm::app
