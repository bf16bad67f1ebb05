#pragma once
// Matching client addresses against address blocks (allow/deny lists, the
// blocking allow list). The syntax lives in conf/cidr.hpp so the config loader
// can report typos at file:line; this is the runtime side. Clients are compared
// in canonical form: an IPv4-mapped IPv6 peer (::ffff:192.0.2.7, as seen on a
// dual-stack listener) is the IPv4 client 192.0.2.7 and matches IPv4 blocks.
#include <boost/asio/ip/address.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "conf/cidr.hpp"

namespace vhm::policy {

using Address = boost::asio::ip::address;
using conf::Cidr;

// IPv4-mapped IPv6 -> IPv4; any other address unchanged.
Address canonical(const Address& address);

// An IP literal (no brackets, no port, no scope id) in canonical form.
std::optional<Address> parse_address(std::string_view text);

// "10.0.0.0/8", "2001:db8::/32" or a bare address; see conf::parse_cidr.
inline std::optional<Cidr> parse_cidr(std::string_view text, std::string& error) {
  return conf::parse_cidr(text, error);
}

// True when `address` (canonicalised first) lies inside `block`.
bool contains(const Cidr& block, const Address& address);
// True when every address of `inner` lies inside `outer`.
bool covers(const Cidr& outer, const Cidr& inner);
// The first address of a block (its network address).
Address network_address(const Cidr& block);

// A list of blocks; empty matches nothing.
class CidrSet {
 public:
  CidrSet() = default;
  explicit CidrSet(std::vector<Cidr> blocks) : blocks_(std::move(blocks)) {}
  bool contains(const Address& address) const;
  // True when one block of the set covers all of `block`.
  bool covers(const Cidr& block) const;
  bool empty() const { return blocks_.empty(); }
  const std::vector<Cidr>& blocks() const { return blocks_; }

 private:
  std::vector<Cidr> blocks_;
};

}  // namespace vhm::policy
