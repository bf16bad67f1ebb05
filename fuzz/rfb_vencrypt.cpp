// The handshake parser from the first message of VeNCrypt (19): version 0.2, subtypes, the
// choice, Plain/Ident credentials, the TLS ack and (flag bit 0) the decrypted inner exchange.
#include "fuzz/support/rfb_security_step.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  return vhm::fuzz::fuzz_security_type(19, data, size);
}
