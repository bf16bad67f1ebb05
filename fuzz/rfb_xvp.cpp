// The handshake parser from the first message of xvp (22): the client's user and target names,
// then VNC authentication.
#include "fuzz/support/rfb_security_step.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  return vhm::fuzz::fuzz_security_type(22, data, size);
}
