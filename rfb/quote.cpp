#include "rfb/quote.hpp"

namespace vhm::rfb::detail {

std::string quote(std::span<const std::uint8_t> bytes) {
  static constexpr char hex[] = "0123456789abcdef";
  std::string out = "\"";
  for (const std::uint8_t b : bytes) {
    switch (b) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (b >= 0x20 && b < 0x7f) {
          out += static_cast<char>(b);
        } else {
          out += "\\x";
          out += hex[b >> 4];
          out += hex[b & 0xf];
        }
    }
  }
  out += '"';
  return out;
}

}  // namespace vhm::rfb::detail
