#include "hooks/event_json.hpp"

#include <cstdio>

#include "util/utf8_text.hpp"

namespace vhm::hooks {

std::string json_string(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size() + 2);
  out += '"';
  for (const char byte : util::valid_utf8(bytes)) {
    const unsigned char c = static_cast<unsigned char>(byte);
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20 || c == 0x7f) {
          char escaped[8];
          std::snprintf(escaped, sizeof escaped, "\\u%04x", c);
          out += escaped;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  out += '"';
  return out;
}

std::string event_to_json(const Event& event) {
  std::string out = "{\"event\":" + json_string(conf::to_string(event.kind));
  for (std::size_t i = 0; i < conf::field_count; ++i) {
    const auto field = static_cast<conf::Field>(i);
    if (field == conf::Field::event) continue;
    out += ',';
    out += json_string(conf::to_string(field));
    out += ':';
    out += json_string(event[field]);
  }
  out += '}';
  return out;
}

}  // namespace vhm::hooks
