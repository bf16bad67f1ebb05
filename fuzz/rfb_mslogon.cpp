// The handshake parser from the first message of MSLogonII (113): the fixed-size key exchange
// and credentials.
#include "fuzz/support/rfb_security_step.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  return vhm::fuzz::fuzz_security_type(113, data, size);
}
