#include "service/status_text.hpp"

namespace vhm::service {
namespace {

std::string counted(std::size_t count, std::string_view noun) {
  return std::to_string(count) + " " + std::string(noun) + (count == 1 ? "" : "s");
}

}  // namespace

std::string counts_text(std::size_t listeners, std::size_t sessions) {
  return counted(listeners, "listener") + ", " + counted(sessions, "session");
}

std::string one_line(std::string_view text, std::size_t limit) {
  std::string line;
  for (char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    line.push_back(byte < 0x20 || byte == 0x7f ? ' ' : c);
  }
  if (line.size() > limit) {
    constexpr std::string_view ellipsis = "...";
    line.resize(limit > ellipsis.size() ? limit - ellipsis.size() : 0);
    // Do not leave half of a UTF-8 sequence before the ellipsis.
    std::size_t start = line.size();
    while (start > 0 && (static_cast<unsigned char>(line[start - 1]) & 0xC0) == 0x80) --start;
    if (start > 0) {
      const auto lead = static_cast<unsigned char>(line[start - 1]);
      const std::size_t expected = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 1;
      if (line.size() - (start - 1) < expected) line.resize(start - 1);
    }
    line += ellipsis;
  }
  return line;
}

}  // namespace vhm::service
