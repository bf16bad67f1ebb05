#include "conf/size.hpp"

#include <array>
#include <limits>

namespace vhm::conf {
namespace {

struct SizeUnit {
  std::string_view name;
  std::uint64_t bytes;
};

constexpr std::uint64_t kib = 1024;
constexpr std::array<SizeUnit, 13> size_units = {{
    {"B", 1},
    {"K", kib}, {"M", kib * kib}, {"G", kib * kib * kib}, {"T", kib * kib * kib * kib},
    {"KiB", kib}, {"MiB", kib * kib}, {"GiB", kib * kib * kib}, {"TiB", kib * kib * kib * kib},
    {"KB", 1'000}, {"MB", 1'000'000}, {"GB", 1'000'000'000}, {"TB", 1'000'000'000'000},
}};

bool is_size_digit(char c) { return c >= '0' && c <= '9'; }

}  // namespace

std::optional<std::uint64_t> parse_size(std::string_view text, std::string& error) {
  constexpr std::uint64_t max = std::numeric_limits<std::uint64_t>::max();
  std::size_t digits = 0;
  while (digits < text.size() && is_size_digit(text[digits])) ++digits;
  const std::string_view unit = text.substr(digits);
  std::uint64_t per_unit = unit.empty() ? 1 : 0;
  for (const SizeUnit& known : size_units)
    if (known.name == unit) per_unit = known.bytes;
  if (digits == 0 || per_unit == 0) {
    error = "expected bytes (1048576) or a whole number with a unit (64K, 8MiB, 1GiB, 500MB, 2TB)";
    return std::nullopt;
  }
  std::uint64_t value = 0;
  bool overflow = false;
  for (char c : text.substr(0, digits)) {
    const auto digit = static_cast<std::uint64_t>(c - '0');
    if (value > (max - digit) / 10) {
      overflow = true;
      break;
    }
    value = value * 10 + digit;
  }
  if (overflow || value > max / per_unit) {
    error = "is too large (at most " + std::to_string(max) + " bytes)";
    return std::nullopt;
  }
  return value * per_unit;
}

std::string format_size(std::uint64_t bytes) {
  constexpr std::array<std::string_view, 4> names = {"KiB", "MiB", "GiB", "TiB"};
  if (bytes == 0) return "0";
  std::string_view best;
  std::uint64_t amount = bytes;
  for (std::string_view name : names) {
    if (amount % kib != 0) break;
    amount /= kib;
    best = name;
  }
  return best.empty() ? std::to_string(bytes) : std::to_string(amount) + std::string(best);
}

}  // namespace vhm::conf
