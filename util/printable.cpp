#include "util/printable.hpp"

#include <cstdio>

namespace vhm::util {

std::string printable(std::string_view text, std::size_t max_bytes) {
  const bool truncated = text.size() > max_bytes;
  if (truncated) text = text.substr(0, max_bytes);
  std::string out;
  out.reserve(text.size());
  for (unsigned char c : text) {
    switch (c) {
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      case '\\': out += "\\\\"; break;
      default:
        if (c < 0x20 || c == 0x7f) {
          char buf[5];
          std::snprintf(buf, sizeof buf, "\\x%02x", c);
          out += buf;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  if (truncated) out += "...";
  return out;
}

}  // namespace vhm::util
