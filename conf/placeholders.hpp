#pragma once
// {placeholder} syntax for hook arguments. A '{' followed by an identifier
// ([a-z_][a-z0-9_]*) and '}' is a placeholder; anything else is literal text, so
// arguments like awk's '{print $1}' need no escaping. Substitution happens per
// argument, so a value can never split into new arguments or become syntax.
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace vhm::conf {

struct PlaceholderRef {
  std::string name;
  std::size_t offset = 0;  // position of '{' in the template
};

// Every placeholder in a template, known or not (the caller validates names).
std::vector<PlaceholderRef> find_placeholders(std::string_view text);

// Replaces each placeholder by lookup(name). Unknown names are the caller's
// concern: lookup decides (config validation rejects them at load).
std::string expand_placeholders(std::string_view text,
                                const std::function<std::string(std::string_view)>& lookup);

}  // namespace vhm::conf
