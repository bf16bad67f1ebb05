#pragma once
// The command line every subcommand has (ctl, play, recording): argv[1]
// names it, then come its options and its positional words.
#include <boost/program_options.hpp>

#include <string>
#include <vector>

namespace vhm::app {

struct SubcommandLine {
  boost::program_options::variables_map values;  // stored and notified
  std::vector<std::string> words;                // the positional arguments, in order
  std::string error;                             // Boost's message when the line is wrong; then the rest is empty
};

// At most `max_words` positional words (-1: any number).
SubcommandLine parse_subcommand_line(int argc, char** argv, const boost::program_options::options_description& options,
                                     int max_words = -1);

}  // namespace vhm::app
