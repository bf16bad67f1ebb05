// The PROXY protocol header (proxy/frontend/proxy_protocol.hpp), v1 text and
// v2 binary, as a load balancer's first bytes. Beyond not crashing: ok means
// a length within the input and the protocol's bounds and a canonical IP
// literal; the answer depends only on the bytes seen (a prefix of an ok
// header needs more, an invalid prefix stays invalid, bytes after the header
// change nothing).
#include <string>
#include <vector>

#include "fuzz/support/check.hpp"
#include "proxy/frontend/ip_literal.hpp"
#include "proxy/frontend/proxy_protocol.hpp"

namespace {

using namespace vhm::proxy::frontend;

std::string describe(const ProxyParseResult& result) {
  std::string text = result.status == ProxyParse::ok ? "ok" : result.status == ProxyParse::need_more ? "need_more" : "invalid";
  text += " length " + std::to_string(result.header.length) + " source " + result.header.source_address.value_or("-") +
          ":" + std::to_string(result.header.source_port) + " error " + result.error;
  return text;
}

bool same(const ProxyParseResult& a, const ProxyParseResult& b) {
  return a.status == b.status && a.header.length == b.header.length &&
         a.header.source_address == b.header.source_address && a.header.source_port == b.header.source_port &&
         a.error == b.error;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::span<const std::uint8_t> bytes(data, size);
  const ProxyParseResult result = parse_proxy_header(bytes);

  switch (result.status) {
    case ProxyParse::ok: {
      const std::size_t length = result.header.length;
      VHM_FUZZ_CHECK(length >= 15 && length <= size, describe(result));
      VHM_FUZZ_CHECK(data[0] == 'P' ? length <= 107 : length >= 16 && length <= proxy_header_max, describe(result));
      if (result.header.source_address) {
        const auto parsed = parse_ip_literal(*result.header.source_address);
        VHM_FUZZ_CHECK(parsed && ip_text(*parsed) == *result.header.source_address,
                       "not a canonical IP literal: " + describe(result));
      } else {
        VHM_FUZZ_CHECK(result.header.source_port == 0, "a port without an address: " + describe(result));
      }
      VHM_FUZZ_CHECK(result.error.empty(), describe(result));
      // Exactly the header: the same answer without what follows, need_more one byte short.
      VHM_FUZZ_CHECK(same(parse_proxy_header(bytes.first(length)), result), "cut after the header: " + describe(result));
      VHM_FUZZ_CHECK(parse_proxy_header(bytes.first(length - 1)).status == ProxyParse::need_more,
                     "a prefix of a header is no header: " + describe(result));
      break;
    }
    case ProxyParse::need_more:
      VHM_FUZZ_CHECK(size < proxy_header_max && result.error.empty() && !result.header.source_address,
                     describe(result));
      if (size > 0 && data[0] == 'P') VHM_FUZZ_CHECK(size < 107, "v1 waits past 107 bytes: " + describe(result));
      break;
    case ProxyParse::invalid: {
      VHM_FUZZ_CHECK(!result.error.empty() && result.error.size() < 80, describe(result));
      // More bytes cannot make an invalid start valid.
      std::vector<std::uint8_t> longer(data, data + size);
      longer.insert(longer.end(), {'\r', '\n', 0, 0});
      VHM_FUZZ_CHECK(parse_proxy_header(longer).status == ProxyParse::invalid, "valid after more bytes: " + describe(result));
      break;
    }
  }
  // A prefix that already decided (ok or invalid) decides the same for the whole.
  if (size > 1) {
    const ProxyParseResult shorter = parse_proxy_header(bytes.first(size / 2));
    if (shorter.status != ProxyParse::need_more)
      VHM_FUZZ_CHECK(same(shorter, result), "half said " + describe(shorter) + ", all said " + describe(result));
  }
  return 0;
}
