#include "conf/target_rule.hpp"

#include <charconv>

#include "util/printable.hpp"

namespace vhm::conf {
namespace {

constexpr std::string_view syntax =
    " (expected CIDR, CIDR:port or CIDR:first-last, IPv6 in brackets: [2001:db8::/64]:5900-5999)";

std::string quoted(std::string_view text) { return "\"" + util::printable(text, 100) + "\""; }

std::optional<std::uint16_t> parse_port(std::string_view text) {
  if (text.empty() || text.size() > 5) return std::nullopt;
  for (char c : text)
    if (c < '0' || c > '9') return std::nullopt;
  unsigned value = 0;
  std::from_chars(text.data(), text.data() + text.size(), value);
  if (value < 1 || value > 65535) return std::nullopt;
  return static_cast<std::uint16_t>(value);
}

// "5900" or "5900-5999" into `rule`.
bool parse_ports(std::string_view text, std::string_view whole, TargetRule& rule, std::string& error) {
  const auto dash = text.find('-');
  const auto first = parse_port(text.substr(0, dash));
  const auto last = dash == std::string_view::npos ? first : parse_port(text.substr(dash + 1));
  if (!first || !last) {
    error = "ports " + quoted(text) + " in " + quoted(whole) + " must be a port (1-65535) or a range first-last";
    return false;
  }
  if (*first > *last) {
    error = "port range " + quoted(text) + " in " + quoted(whole) + " ends before it starts";
    return false;
  }
  rule.first_port = *first;
  rule.last_port = *last;
  return true;
}

}  // namespace

std::optional<TargetRule> parse_target_rule(std::string_view text, std::string& error) {
  if (text.empty()) {
    error = "empty target rule" + std::string(syntax);
    return std::nullopt;
  }
  std::string_view block_text;
  std::string_view ports_text;
  bool has_ports = false;
  if (text.front() == '[') {
    const auto close = text.find(']');
    if (close == std::string_view::npos) {
      error = "missing ']' in " + quoted(text) + std::string(syntax);
      return std::nullopt;
    }
    block_text = text.substr(1, close - 1);
    const auto rest = text.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') {
        error = "expected ':ports' after ']' in " + quoted(text) + std::string(syntax);
        return std::nullopt;
      }
      ports_text = rest.substr(1);
      has_ports = true;
    }
    if (block_text.find(':') == std::string_view::npos) {
      error = "brackets are only for IPv6, got " + quoted(text) + std::string(syntax);
      return std::nullopt;
    }
  } else {
    const auto colon = text.find(':');
    if (colon != std::string_view::npos && text.find(':', colon + 1) != std::string_view::npos) {
      // Without brackets "2001:db8::1:5900" could be a host or a host and a port.
      error = "an IPv6 block must be in brackets, e.g. [2001:db8::/64] or [2001:db8::/64]:5900-5999, got " +
              quoted(text);
      return std::nullopt;
    }
    block_text = text.substr(0, colon);
    if (colon != std::string_view::npos) {
      ports_text = text.substr(colon + 1);
      has_ports = true;
    }
  }
  TargetRule rule;
  std::string cidr_error;
  const auto block = parse_cidr(block_text, cidr_error);
  if (!block) {
    error = cidr_error + " in target rule " + quoted(text);
    return std::nullopt;
  }
  rule.block = *block;
  if (has_ports && !parse_ports(ports_text, text, rule, error)) return std::nullopt;
  return rule;
}

std::string format_target_rule(const TargetRule& rule) {
  std::string text = format_cidr(rule.block);
  if (!rule.block.ipv4) text = "[" + text + "]";
  if (rule.first_port == 1 && rule.last_port == 65535) return text;
  text += ":" + std::to_string(rule.first_port);
  if (rule.last_port != rule.first_port) text += "-" + std::to_string(rule.last_port);
  return text;
}

}  // namespace vhm::conf
