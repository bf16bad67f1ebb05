// The handshake parser from the first message of Tight (16): tunnel and authentication
// capability lists, the choices, Unix login, and the interaction capabilities after ServerInit.
#include "fuzz/support/rfb_security_step.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  return vhm::fuzz::fuzz_security_type(16, data, size);
}
