#include "proxy/session_id.hpp"

#include <cstdio>
#include <random>

namespace vhm::proxy {

std::string new_session_id() {
  static std::mt19937_64 generator{[] {
    std::random_device device;
    return (static_cast<std::uint64_t>(device()) << 32) ^ device();
  }()};
  char text[17];
  std::snprintf(text, sizeof text, "%016llx", static_cast<unsigned long long>(generator()));
  return text;
}

}  // namespace vhm::proxy
