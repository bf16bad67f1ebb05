#pragma once
// The real client behind trusted reverse proxies: X-Forwarded-For and
// Forwarded (RFC 7239) are believed only when the connection comes from an
// address in `trusted_proxies:`, and then read from the right, skipping
// trusted hops, so a client cannot inject an address in front. Pure.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "conf/cidr.hpp"

namespace vhm::proxy::frontend {

// `peer`: the connection's address (IP literal). `forwarded` is the
// Forwarded header's value and takes precedence; `x_forwarded_for` is used
// when it is empty. Multiple header lines are joined with ", " by the caller.
// nullopt: peer untrusted, no header, or nothing parseable (keep the peer).
// The result is an IP literal (IPv6 without brackets, no port).
std::optional<std::string> forwarded_client(std::string_view peer, std::string_view forwarded,
                                            std::string_view x_forwarded_for,
                                            const std::vector<conf::Cidr>& trusted);

}  // namespace vhm::proxy::frontend
