#include "hooks/syslog/rfc5424.hpp"

#include <array>

#include "util/iso_time.hpp"
#include "util/utf8_text.hpp"

namespace vhm::hooks::syslog {
namespace {

constexpr std::string_view replacement_character = "\xEF\xBF\xBD";
constexpr std::string_view byte_order_mark = "\xEF\xBB\xBF";
constexpr std::size_t max_hostname = 255;  // RFC 5424 HOSTNAME
// Each value is first cut to the first of these that lets the message fit.
constexpr std::array<std::size_t, 4> value_limits = {1024, 256, 64, 16};

// An RFC 5424 header field: printable US-ASCII, 1..max bytes; "-" (NILVALUE) otherwise.
std::string header_token(std::string_view text, std::size_t max) {
  if (text.empty() || text.size() > max) return "-";
  for (unsigned char c : text)
    if (c < 33 || c > 126) return "-";
  return std::string(text);
}

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// 2026-11-23T12:00:00.123Z, as util::iso8601_utc writes it.
bool is_event_timestamp(std::string_view text) {
  constexpr std::string_view shape = "dddd-dd-ddTdd:dd:dd.dddZ";
  if (text.size() != shape.size()) return false;
  for (std::size_t i = 0; i < shape.size(); ++i)
    if (shape[i] == 'd' ? !is_digit(text[i]) : text[i] != shape[i]) return false;
  return true;
}

// Cuts valid UTF-8 to at most max bytes without splitting a character.
std::string_view cut_utf8(std::string_view text, std::size_t max) {
  if (text.size() <= max) return text;
  std::size_t end = max;
  while (end > 0 && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) --end;
  return text.substr(0, end);
}

std::string shortened(const std::string& text, std::size_t max) {
  if (text.size() <= max) return text;
  return std::string(cut_utf8(text, max)) + "...";
}

std::string address(const std::string& host, const std::string& port) {
  std::string text = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  if (!port.empty()) text += ":" + port;
  return text;
}

std::string structured_data(const Event& event, std::size_t value_limit) {
  std::string sd = "[";
  sd += structured_data_id;
  for (std::size_t i = 0; i < conf::field_count; ++i) {
    const std::string& value = event.values[i];
    if (value.empty()) continue;
    sd += ' ';
    sd += conf::field_names[i];  // SD-NAMEs: lower-case ASCII, at most 32 (a unit test checks)
    sd += "=\"";
    sd += param_value(shortened(single_line_text(value), value_limit));
    sd += '"';
  }
  sd += ']';
  return sd;
}

}  // namespace

int default_severity(conf::EventKind kind) {
  switch (kind) {
    case conf::EventKind::auth_failure:
    case conf::EventKind::ban:
    case conf::EventKind::blocked: return 4;
    default: return 5;
  }
}

std::string single_line_text(std::string_view text) {
  const std::string valid = util::valid_utf8(text);
  std::string out;
  out.reserve(valid.size());
  for (std::size_t i = 0; i < valid.size(); ++i) {
    const auto byte = static_cast<unsigned char>(valid[i]);
    if (byte < 0x20 || byte == 0x7F) {
      out += replacement_character;
    } else if (byte == 0xC2 && i + 1 < valid.size() && static_cast<unsigned char>(valid[i + 1]) >= 0x80 &&
               static_cast<unsigned char>(valid[i + 1]) <= 0x9F) {
      out += replacement_character;  // a C1 control (U+0080..U+009F): terminals act on some
      ++i;
    } else {
      out += valid[i];
    }
  }
  return out;
}

std::string param_value(std::string_view text) {
  const std::string clean = single_line_text(text);
  std::string out;
  out.reserve(clean.size() + 8);
  for (char c : clean) {
    if (c == '"' || c == '\\' || c == ']') out += '\\';
    out += c;
  }
  return out;
}

std::string event_summary(const Event& event) {
  using conf::Field;
  std::string text(conf::to_string(event.kind));
  if (!event[Field::client_ip].empty()) text += " client " + address(event[Field::client_ip], event[Field::client_port]);
  if (!event[Field::target_host].empty())
    text += " -> " + address(event[Field::target_host], event[Field::target_port]);
  if (!event[Field::user].empty()) text += " user " + event[Field::user];
  if (!event[Field::reason].empty()) text += " reason " + event[Field::reason];
  return text;
}

std::string format_message(const Origin& origin, const Event& event, std::string_view msg,
                           std::chrono::system_clock::time_point now, std::size_t max_bytes) {
  const std::string& timestamp = event[conf::Field::timestamp];
  std::string head = "<" + std::to_string(origin.facility * 8 + origin.severity) + ">1 ";
  head += is_event_timestamp(timestamp) ? timestamp : util::iso8601_utc(now);
  head += ' ' + header_token(origin.hostname, max_hostname);
  head += ' ' + header_token(origin.app_name, 48);
  head += ' ' + header_token(origin.procid, 128);
  head += ' ' + header_token(conf::to_string(event.kind), 32);
  head += ' ';

  std::string message;
  for (std::size_t limit : value_limits) {
    message = head + structured_data(event, limit);
    if (message.size() <= max_bytes) break;
  }
  if (message.size() > max_bytes) return std::string(cut_utf8(message, max_bytes));  // pathological max_bytes only
  const std::size_t room = max_bytes - message.size();
  const std::string text = single_line_text(msg);
  if (text.empty() || room <= 1 + byte_order_mark.size()) return message;
  message += ' ';
  message += byte_order_mark;
  message += cut_utf8(text, room - 1 - byte_order_mark.size());
  return message;
}

}  // namespace vhm::hooks::syslog
