// The handshake parser from the first message of RA2ne (6): RSA keys, randoms and AES-EAX
// records stepped over to the clear SecurityResult.
#include "fuzz/support/rfb_security_step.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  return vhm::fuzz::fuzz_security_type(6, data, size);
}
