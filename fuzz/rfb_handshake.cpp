// The whole RFB handshake parser from the first byte: both directions
// interleaved as chunks of one input (support/rfb_feed.hpp), with the parser's
// contract and split invariance checked on every run.
#include "fuzz/support/rfb_feed.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  vhm::fuzz::run_checked(vhm::fuzz::read_rfb_input({data, size}));
  return 0;
}
