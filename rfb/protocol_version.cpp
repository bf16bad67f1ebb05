#include "rfb/protocol_version.hpp"

#include <algorithm>

namespace vhm::rfb::detail {
namespace {

bool digits(std::span<const std::uint8_t> b, std::size_t from, int& value) {
  value = 0;
  for (std::size_t i = from; i < from + 3; ++i) {
    if (b[i] < '0' || b[i] > '9') return false;
    value = value * 10 + (b[i] - '0');
  }
  return true;
}

}  // namespace

std::optional<Version> effective_version(int major, int minor) {
  if (major == 3) {
    switch (minor) {
      case 3:
      case 4:
      case 5:
      case 6:  // 3.5 old TightVNC; 3.4/3.6 UltraVNC
      case 14:
      case 16:  // UltraVNC SingleClick
        return Version{3, 3};
      case 7:
        return Version{3, 7};
      default:
        if (minor >= 8) return Version{3, 8};  // 3.8, Apple's 3.889, later 3.x
        return std::nullopt;                   // 3.0 - 3.2 never existed
    }
  }
  if (major == 4 || major == 5) return Version{3, 8};  // Intel AMT 4.000, RealVNC 4.001 / 5.000
  return std::nullopt;
}

VersionMessage read_version_message(std::span<const std::uint8_t> bytes) {
  VersionMessage out;
  const std::size_t avail = std::min(bytes.size(), version_message_size);
  const auto head = bytes.first(avail);
  const auto newline = std::find(head.begin(), head.end(), std::uint8_t{'\n'});
  if (avail < version_message_size && newline == head.end()) return out;  // incomplete

  if (newline != head.end() && newline != head.begin() + (version_message_size - 1)) {
    out.kind = VersionMessage::Kind::malformed;  // a line, but not 12 bytes long
    out.size = static_cast<std::size_t>(newline - head.begin()) + 1;
    return out;
  }
  out.size = version_message_size;
  static constexpr std::uint8_t prefix[] = {'R', 'F', 'B', ' '};
  int major = 0, minor = 0;
  if (!std::equal(std::begin(prefix), std::end(prefix), head.begin()) || !digits(head, 4, major) || head[7] != '.' ||
      !digits(head, 8, minor) || head[11] != '\n') {
    out.kind = VersionMessage::Kind::malformed;
    return out;
  }
  out.raw.assign(head.begin(), head.begin() + 11);
  if (major == 0 && minor == 0) {
    out.kind = VersionMessage::Kind::repeater;
  } else if (const auto effective = effective_version(major, minor)) {
    out.kind = VersionMessage::Kind::valid;
    out.effective = *effective;
  } else {
    out.kind = VersionMessage::Kind::unsupported;
  }
  return out;
}

}  // namespace vhm::rfb::detail
