#include "proxy/frontend/proxy_protocol.hpp"

namespace vhm::proxy::frontend {

ProxyParseResult parse_proxy_header(std::span<const std::uint8_t>) {
  return {ProxyParse::invalid, {}, "not implemented yet"};
}

}  // namespace vhm::proxy::frontend
