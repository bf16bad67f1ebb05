#include "proxy/session_id.hpp"

#include <random>

namespace vhm::proxy {

std::string new_session_id() {
  static std::mt19937_64 generator{[] {
    std::random_device device;
    return (static_cast<std::uint64_t>(device()) << 32) ^ device();
  }()};
  // 16 hex digits by hand (one id per connection; snprintf's parsing was a visible cost).
  static constexpr char digits[] = "0123456789abcdef";
  std::uint64_t value = generator();
  std::string text(16, '0');
  for (auto at = text.rbegin(); at != text.rend(); ++at, value >>= 4) *at = digits[value & 0xf];
  return text;
}

}  // namespace vhm::proxy
