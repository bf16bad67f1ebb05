#include "proxy/session_id.hpp"

#include <charconv>
#include <random>

namespace vhm::proxy {

std::string new_session_id() {
  static std::mt19937_64 generator{[] {
    std::random_device device;
    return (static_cast<std::uint64_t>(device()) << 32) ^ device();
  }()};
  // 16 hex digits, zero-padded; to_chars, not snprintf: one id per connection.
  char digits[16];
  const auto end = std::to_chars(digits, digits + sizeof digits, generator(), 16).ptr;
  std::string text(static_cast<std::size_t>(digits + sizeof digits - end), '0');
  text.append(digits, end);
  return text;
}

}  // namespace vhm::proxy
