#include "conf/cidr.hpp"

#include <boost/asio/ip/address.hpp>

#include "util/printable.hpp"

namespace vhm::conf {
namespace ip = boost::asio::ip;
namespace {

constexpr std::array<std::uint8_t, 12> v4_mapped_prefix = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

std::optional<unsigned> parse_prefix(std::string_view text) {
  if (text.empty() || text.size() > 3) return std::nullopt;
  unsigned value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + static_cast<unsigned>(c - '0');
  }
  return value;
}

// True when every bit of `cidr.bytes` after the first `cidr.prefix` bits is zero.
bool host_bits_clear(const Cidr& cidr) {
  const unsigned total = cidr.ipv4 ? 32 : 128;
  for (unsigned bit = cidr.prefix; bit < total; ++bit)
    if (cidr.bytes[bit / 8] & (0x80u >> (bit % 8))) return false;
  return true;
}

Cidr masked(Cidr cidr) {
  const unsigned total = cidr.ipv4 ? 32 : 128;
  for (unsigned bit = cidr.prefix; bit < total; ++bit)
    cidr.bytes[bit / 8] = static_cast<std::uint8_t>(cidr.bytes[bit / 8] & ~(0x80u >> (bit % 8)));
  return cidr;
}

}  // namespace

std::optional<Cidr> parse_cidr(std::string_view text, std::string& error) {
  const std::string quoted = "\"" + util::printable(text, 100) + "\"";
  const auto slash = text.find('/');
  const std::string address_text(text.substr(0, slash));
  if (address_text.find('%') != std::string::npos) {
    error = "a scope id (%...) is not allowed in an address block, got " + quoted;
    return std::nullopt;
  }
  boost::system::error_code ec;
  const ip::address address = ip::make_address(address_text, ec);
  if (ec) {
    error = "expected an IP address or address block (10.0.0.0/8, 2001:db8::/32), got " + quoted;
    return std::nullopt;
  }
  Cidr cidr;
  if (address.is_v4()) {
    cidr.ipv4 = true;
    const auto bytes = address.to_v4().to_bytes();
    std::copy(bytes.begin(), bytes.end(), cidr.bytes.begin());
  } else {
    const auto bytes = address.to_v6().to_bytes();
    std::copy(bytes.begin(), bytes.end(), cidr.bytes.begin());
  }
  const unsigned max_prefix = cidr.ipv4 ? 32 : 128;
  cidr.prefix = max_prefix;
  if (slash != std::string_view::npos) {
    const auto prefix = parse_prefix(text.substr(slash + 1));
    if (!prefix || *prefix > max_prefix) {
      error = "the prefix length after '/' must be a number from 0 to " + std::to_string(max_prefix) + ", got " +
              quoted;
      return std::nullopt;
    }
    cidr.prefix = *prefix;
  }
  if (!host_bits_clear(cidr)) {
    error = "host bits are set below the prefix length in " + quoted + "; did you mean " +
            format_cidr(masked(cidr)) + "?";
    return std::nullopt;
  }
  if (!cidr.ipv4 && cidr.prefix >= 96 &&
      std::equal(v4_mapped_prefix.begin(), v4_mapped_prefix.end(), cidr.bytes.begin())) {
    Cidr v4;
    v4.ipv4 = true;
    v4.prefix = cidr.prefix - 96;
    std::copy(cidr.bytes.begin() + 12, cidr.bytes.end(), v4.bytes.begin());
    return v4;
  }
  return cidr;
}

std::string format_cidr(const Cidr& cidr) {
  std::string text;
  if (cidr.ipv4) {
    text = ip::address_v4({cidr.bytes[0], cidr.bytes[1], cidr.bytes[2], cidr.bytes[3]}).to_string();
  } else {
    ip::address_v6::bytes_type bytes;
    std::copy(cidr.bytes.begin(), cidr.bytes.end(), bytes.begin());
    text = ip::address_v6(bytes).to_string();
  }
  const unsigned max_prefix = cidr.ipv4 ? 32 : 128;
  if (cidr.prefix < max_prefix) text += "/" + std::to_string(cidr.prefix);
  return text;
}

}  // namespace vhm::conf
