#include "rfb/refusal.hpp"

#include <algorithm>

#include "rfb/protocol_version.hpp"

namespace vhm::rfb {
namespace {

constexpr std::size_t max_reason_bytes = 1024;

void put_u32(std::vector<std::uint8_t>& out, std::uint32_t value) {
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<std::uint8_t>(value >> shift));
}

void put_reason(std::vector<std::uint8_t>& out, std::string_view reason) {
  reason = reason.substr(0, max_reason_bytes);
  put_u32(out, static_cast<std::uint32_t>(reason.size()));
  out.insert(out.end(), reason.begin(), reason.end());
}

}  // namespace

std::optional<Version> negotiated_with_viewer(std::span<const std::uint8_t> client_version) {
  const auto message = detail::read_version_message(client_version);
  if (message.kind != detail::VersionMessage::Kind::valid) return std::nullopt;
  const Version proxy{3, 8};
  const Version viewer = message.effective;
  return (viewer.major < proxy.major || (viewer.major == proxy.major && viewer.minor < proxy.minor)) ? viewer
                                                                                                     : proxy;
}

std::vector<std::uint8_t> connection_refusal(Version version, std::string_view reason) {
  std::vector<std::uint8_t> out;
  if (version.major == 3 && version.minor < 7)
    put_u32(out, 0);  // 3.3: security type 0 = connection failed
  else
    out.push_back(0);  // 3.7+: zero security types = connection failed
  put_reason(out, reason);
  return out;
}

std::vector<std::uint8_t> failed_security_result(Version version, std::string_view reason) {
  std::vector<std::uint8_t> out;
  put_u32(out, 1);
  if (version.major == 3 && version.minor >= 8) put_reason(out, reason);
  return out;
}

}  // namespace vhm::rfb
