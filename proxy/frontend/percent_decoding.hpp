#pragma once
// Percent-decoding of request targets, two ways: strict for file paths (a
// bad escape is a bad request) and Python's urllib way for tokens (a bad
// escape stays as written, "+" is a space in a query), so a token that works
// with websockify works here.
#include <optional>
#include <string>
#include <string_view>

namespace vhm::proxy::frontend {

// nullopt when a "%" is not followed by two hex digits.
std::optional<std::string> percent_decode_strict(std::string_view text);
// urllib.parse.unquote (and unquote_plus when `plus_is_space`).
std::string percent_decode_lenient(std::string_view text, bool plus_is_space);

}  // namespace vhm::proxy::frontend
