#pragma once
// Human output of `ctl`: aligned tables for sessions and bans, one line for
// unban and kill. Every cell is passed through util::printable, because rows
// carry peer-controlled text (user names) that must not reach a terminal raw.
#include <boost/json/object.hpp>
#include <cstdint>
#include <iosfwd>
#include <string>

#include "control/protocol.hpp"

namespace vhm::control {

// Prints a successful ({"ok":true,...}) response to `command`. False when the
// response lacks what the command returns.
bool print_response(Command command, const boost::json::object& response, std::ostream& out);

// "42s", "12m05s", "3h04m", "2d03h".
std::string format_age(std::uint64_t seconds);
// "512", "1.5K", "12.0M": binary units, like ls -h.
std::string format_bytes(std::uint64_t bytes);

}  // namespace vhm::control
