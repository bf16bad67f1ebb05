#include "conf/event_schema.hpp"

#include <cctype>

namespace vhm::conf {

std::optional<EventKind> parse_event_kind(std::string_view name) {
  for (std::size_t i = 0; i < event_kind_names.size(); ++i)
    if (event_kind_names[i] == name) return static_cast<EventKind>(i);
  return std::nullopt;
}

std::optional<Field> parse_field(std::string_view name) {
  for (std::size_t i = 0; i < field_names.size(); ++i)
    if (field_names[i] == name) return static_cast<Field>(i);
  return std::nullopt;
}

std::string env_name(Field field) {
  std::string name = "VNC_";
  for (char c : to_string(field)) name += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return name;
}

}  // namespace vhm::conf
