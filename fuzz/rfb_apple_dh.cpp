// The handshake parser from the first message of Apple DH / ARD (30): the server's key, the
// client's encrypted credentials and public value.
#include "fuzz/support/rfb_security_step.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  return vhm::fuzz::fuzz_security_type(30, data, size);
}
