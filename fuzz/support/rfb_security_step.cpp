#include "fuzz/support/rfb_security_step.hpp"

#include "fuzz/support/rfb_feed.hpp"

namespace vhm::fuzz {

int fuzz_security_type(std::uint8_t type, const std::uint8_t* data, std::size_t size) {
  const RfbInput input = read_rfb_input({data, size});
  const Bytes version = version_message(input.prefix_version);
  std::vector<Segment> prefix = {{rfb::Direction::server_to_client, version},
                                 {rfb::Direction::client_to_server, version}};
  if (input.prefix_version.minor == 3) {
    prefix.push_back({rfb::Direction::server_to_client, {0, 0, 0, type}});
  } else {
    prefix.push_back({rfb::Direction::server_to_client, {1, type}});
    prefix.push_back({rfb::Direction::client_to_server, {type}});
  }
  run_checked(input, prefix);
  return 0;
}

}  // namespace vhm::fuzz
