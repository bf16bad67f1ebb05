#include "app/subcommand_line.hpp"

namespace vhm::app {

namespace po = boost::program_options;

SubcommandLine parse_subcommand_line(int argc, char** argv, const po::options_description& options, int max_words) {
  SubcommandLine line;
  po::options_description hidden;
  hidden.add_options()("words", po::value(&line.words));
  po::options_description all;
  all.add(options).add(hidden);
  po::positional_options_description positional;
  positional.add("words", max_words);
  try {
    // argv[1] is the subcommand: parse what follows it.
    po::store(po::command_line_parser(argc - 1, argv + 1).options(all).positional(positional).run(), line.values);
    po::notify(line.values);
  } catch (const po::error& error) {
    line = SubcommandLine{};
    line.error = error.what();
  }
  return line;
}

}  // namespace vhm::app
