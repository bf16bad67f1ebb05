#include "hooks/event_json.hpp"

#include <cstdio>

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include "util/printable.hpp"
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

namespace {

// Event JSON is flat; deeper input is refused by the parser before it costs much.
constexpr std::size_t event_json_max_depth = 4;
// Names of unknown keys appear in errors only this long (they come from outside).
constexpr std::size_t event_json_key_shown = 40;

std::string shown_key(std::string_view key) {
  return "\"" + util::printable(key.substr(0, event_json_key_shown)) + (key.size() > event_json_key_shown ? "...\"" : "\"");
}

}  // namespace

std::optional<Event> event_from_json(std::string_view json, std::string& error) {
  boost::json::parse_options options;
  options.max_depth = event_json_max_depth;
  boost::system::error_code ec;
  const boost::json::value parsed = boost::json::parse(json, ec, {}, options);
  if (ec) {
    error = "not JSON: " + ec.message();
    return std::nullopt;
  }
  const boost::json::object* object = parsed.if_object();
  if (!object) {
    error = "not a JSON object";
    return std::nullopt;
  }
  const auto kind_value = object->find("event");
  if (kind_value == object->end()) {
    error = "no \"event\" field";
    return std::nullopt;
  }
  const boost::json::string* kind_name = kind_value->value().if_string();
  if (!kind_name) {
    error = "\"event\" is not a string";
    return std::nullopt;
  }
  const auto kind = conf::parse_event_kind(std::string_view(*kind_name));
  if (!kind) {
    error = "unknown event kind " + shown_key(*kind_name);
    return std::nullopt;
  }
  Event event;
  event.kind = *kind;
  for (const auto& member : *object) {
    const auto field = conf::parse_field(member.key());
    if (!field) continue;  // a field of a newer proxy
    const boost::json::string* text = member.value().if_string();
    if (!text) {
      error = "field " + shown_key(member.key()) + " is not a string";
      return std::nullopt;
    }
    if (*field != conf::Field::event) event[*field] = std::string(*text);
  }
  // As the proxy fills it: {event} and VNC_EVENT are the kind's name.
  event[conf::Field::event] = std::string(conf::to_string(*kind));
  return event;
}

}  // namespace vhm::hooks
