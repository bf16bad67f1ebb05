#pragma once
// A JSON document with {placeholders} (a webhook's body). Where a placeholder
// stands decides how its value must be written: inside a JSON string it is
// escaped as string content, outside one it is a whole JSON value. The config
// loader checks a body by expanding it with neutral values (json_body_problem);
// the webhook sender expands it with escaped event values. Both walk the
// template the same way, here.
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace vhm::conf {

// Calls lookup(name, in_string) for every placeholder (conf/placeholders.hpp
// syntax) and copies the text around them; in_string: the placeholder stands
// between the quotes of a JSON string.
std::string expand_json_template(std::string_view text,
                                 const std::function<std::string(std::string_view name, bool in_string)>& lookup);

// Why `text`, with every placeholder replaced by a neutral value (a letter in
// a string, 0 outside), is not one JSON value: the parser's message and the
// byte offset, e.g. "syntax error at byte 12". nullopt when it parses.
std::optional<std::string> json_body_problem(std::string_view text);

}  // namespace vhm::conf
