// The 12-byte ProtocolVersion message, the first bytes either peer sends.
// Beyond not crashing: the answer never depends on how the bytes were split
// (once a prefix decides, the whole input decides the same), and a valid
// message always maps onto one of the three real handshakes.
#include <algorithm>
#include <cstring>
#include <string>

#include "fuzz/support/check.hpp"
#include "rfb/protocol_version.hpp"

namespace {

using vhm::rfb::detail::VersionMessage;

std::string text(const VersionMessage& m) {
  return "kind=" + std::to_string(static_cast<int>(m.kind)) + " size=" + std::to_string(m.size) + " raw=" + m.raw +
         " effective=" + std::to_string(m.effective.major) + "." + std::to_string(m.effective.minor);
}

bool same(const VersionMessage& a, const VersionMessage& b) {
  return a.kind == b.kind && a.size == b.size && a.raw == b.raw && a.effective == b.effective;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace vhm::rfb::detail;
  const std::span<const std::uint8_t> bytes(data, size);
  const VersionMessage whole = read_version_message(bytes);

  if (whole.kind != VersionMessage::Kind::incomplete) VHM_FUZZ_CHECK(whole.size >= 1 && whole.size <= size, text(whole));
  if (whole.kind == VersionMessage::Kind::valid) {
    VHM_FUZZ_CHECK(whole.size == version_message_size && whole.raw.size() == 11, text(whole));
    const auto m = whole.effective;
    VHM_FUZZ_CHECK(m.major == 3 && (m.minor == 3 || m.minor == 7 || m.minor == 8), text(whole));
    const int major = std::stoi(whole.raw.substr(4, 3)), minor = std::stoi(whole.raw.substr(8, 3));
    VHM_FUZZ_CHECK(effective_version(major, minor) == m, text(whole));
  }
  for (std::size_t k = 0; k < std::min(size, version_message_size + 1); ++k) {
    const VersionMessage part = read_version_message(bytes.first(k));
    if (part.kind != VersionMessage::Kind::incomplete)
      VHM_FUZZ_CHECK(same(part, whole), "prefix of " + std::to_string(k) + ": " + text(part) + " / " + text(whole));
  }
  if (size >= 8) {  // any pair of numbers maps onto a real handshake or onto none
    int major = 0, minor = 0;
    std::memcpy(&major, data, 4);
    std::memcpy(&minor, data + 4, 4);
    if (const auto v = effective_version(major, minor))
      VHM_FUZZ_CHECK(v->major == 3 && (v->minor == 3 || v->minor == 7 || v->minor == 8), std::to_string(minor));
  }
  return 0;
}
