#include "conf/duration.hpp"

#include <cmath>
#include <cstdint>

namespace vhm::conf {
namespace {

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// "digits" or "digits.digits"; the number part of a duration.
std::optional<long double> parse_decimal(std::string_view text) {
  std::size_t i = 0;
  long double value = 0;
  const std::size_t int_start = i;
  while (i < text.size() && is_digit(text[i])) value = value * 10 + (text[i++] - '0');
  if (i == int_start) return std::nullopt;
  if (i < text.size() && text[i] == '.') {
    ++i;
    const std::size_t frac_start = i;
    long double scale = 0.1L;
    while (i < text.size() && is_digit(text[i])) {
      value += (text[i++] - '0') * scale;
      scale /= 10;
    }
    if (i == frac_start) return std::nullopt;
  }
  if (i != text.size()) return std::nullopt;
  return value;
}

}  // namespace

std::optional<std::chrono::milliseconds> parse_duration(std::string_view text, std::string& error) {
  const std::string_view syntax = "expected seconds (30, 0.5) or a number with a unit (500ms, 30s, 10m, 1h, 30d)";
  std::size_t unit_start = text.size();
  while (unit_start > 0 && !is_digit(text[unit_start - 1]) && text[unit_start - 1] != '.') --unit_start;
  std::string_view number = text.substr(0, unit_start);
  const bool negative = !number.empty() && number.front() == '-';
  if (negative) number.remove_prefix(1);
  const std::string_view unit = text.substr(unit_start);

  long double millis_per_unit = 0;
  if (unit.empty() || unit == "s")
    millis_per_unit = 1000;
  else if (unit == "ms")
    millis_per_unit = 1;
  else if (unit == "m")
    millis_per_unit = 60'000;
  else if (unit == "h")
    millis_per_unit = 3'600'000;
  else if (unit == "d")  // retention periods (recording max_age: 30d)
    millis_per_unit = 86'400'000;

  const auto value = parse_decimal(number);
  if (millis_per_unit == 0 || !value) {
    error = std::string(syntax);
    return std::nullopt;
  }
  if (negative) {
    error = "must be greater than 0";
    return std::nullopt;
  }
  const long double millis = std::round(*value * millis_per_unit);
  if (millis <= 0) {
    error = *value == 0 ? "must be greater than 0" : "must be at least 1ms";
    return std::nullopt;
  }
  if (millis > static_cast<long double>(max_duration.count())) {
    error = "is too long (at most " + std::to_string(max_duration.count() / 3'600'000) + "h)";
    return std::nullopt;
  }
  return std::chrono::milliseconds(static_cast<std::int64_t>(millis));
}

std::string format_duration(std::chrono::milliseconds duration) {
  const auto ms = duration.count();
  if (ms != 0 && ms % 3'600'000 == 0) return std::to_string(ms / 3'600'000) + "h";
  if (ms != 0 && ms % 60'000 == 0) return std::to_string(ms / 60'000) + "m";
  if (ms % 1000 == 0) return std::to_string(ms / 1000) + "s";
  return std::to_string(ms) + "ms";
}

}  // namespace vhm::conf
