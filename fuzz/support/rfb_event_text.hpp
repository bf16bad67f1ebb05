#pragma once
// Parser events and summaries as text, so two runs of the parser can be
// compared and a mismatch printed.
#include <string>

#include "rfb/handshake_parser.hpp"

namespace vhm::fuzz {

std::string describe(const rfb::Event& event);
std::string describe(const rfb::Summary& summary);

}  // namespace vhm::fuzz
