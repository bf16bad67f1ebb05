#pragma once
// Parser events and summaries as one line of text each: what the unit tests
// expect ("server-version 3.8 RFB 003.008") and what the fuzz targets compare
// between two runs of the parser. No Catch2 here, so fuzz/ can build it too.
#include <string>

#include "rfb/handshake_parser.hpp"

namespace vhm::rfb::test {

std::string describe(const Event& event);
std::string describe(const Summary& summary);

}  // namespace vhm::rfb::test
