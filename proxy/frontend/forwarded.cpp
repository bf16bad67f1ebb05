#include "proxy/frontend/forwarded.hpp"

namespace vhm::proxy::frontend {

std::optional<std::string> forwarded_client(std::string_view, std::string_view, std::string_view,
                                            const std::vector<conf::Cidr>&) {
  return std::nullopt;
}

}  // namespace vhm::proxy::frontend
