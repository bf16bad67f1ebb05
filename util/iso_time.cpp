#include "util/iso_time.hpp"

#include <ctime>

namespace vhm::util {

namespace {

// Writes `value` as exactly `width` decimal digits at `out` (the caller's values fit).
char* put_digits(char* out, unsigned value, int width) {
  for (int i = width - 1; i >= 0; --i) {
    out[i] = static_cast<char>('0' + value % 10);
    value /= 10;
  }
  return out + width;
}

}  // namespace

// By hand rather than snprintf: every event carries a timestamp, and on a busy
// proxy snprintf's format parsing was a visible share of a handshake's CPU.
std::string iso8601_utc(std::chrono::system_clock::time_point when) {
  using namespace std::chrono;
  const auto day = floor<days>(when);
  const year_month_day date{day};
  const hh_mm_ss time{floor<milliseconds>(when - day)};
  char text[32];
  char* out = text;
  // system_clock's nanoseconds span the years 1677-2262: always four digits.
  out = put_digits(out, static_cast<unsigned>(static_cast<int>(date.year())), 4);
  *out++ = '-';
  out = put_digits(out, static_cast<unsigned>(date.month()), 2);
  *out++ = '-';
  out = put_digits(out, static_cast<unsigned>(date.day()), 2);
  *out++ = 'T';
  out = put_digits(out, static_cast<unsigned>(time.hours().count()), 2);
  *out++ = ':';
  out = put_digits(out, static_cast<unsigned>(time.minutes().count()), 2);
  *out++ = ':';
  out = put_digits(out, static_cast<unsigned>(time.seconds().count()), 2);
  *out++ = '.';
  out = put_digits(out, static_cast<unsigned>(time.subseconds().count()), 3);
  *out++ = 'Z';
  return std::string(text, out);
}

std::string compact_utc(std::chrono::system_clock::time_point when) {
  const std::time_t t = std::chrono::system_clock::to_time_t(when);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char text[32];
  std::strftime(text, sizeof text, "%Y%m%dT%H%M%SZ", &tm);
  return text;
}

}  // namespace vhm::util
