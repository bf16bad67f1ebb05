#pragma once
// Address syntax shared by the config file and the --listen/--target flags.
//   listen: "host:port", "[v6]:port", ":port" (all addresses); host must be an IP literal
//           (or "localhost", which means 127.0.0.1).
//   target: "host:port", "[v6]:port", host may be a name; ":N" with N < 100 is
//           VNC display N on 127.0.0.1 (port 5900+N); ":P" otherwise is port P on 127.0.0.1.
#include <optional>
#include <string>
#include <string_view>

#include "conf/config.hpp"

namespace vhm::conf {

std::optional<HostPort> parse_listen_address(std::string_view text, std::string& error);
std::optional<HostPort> parse_target_address(std::string_view text, std::string& error);

// "host:port" with brackets around IPv6, for logs and the {listen} field.
std::string format_host_port(const HostPort& address);

}  // namespace vhm::conf
