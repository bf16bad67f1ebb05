#pragma once
// Splits a hook's `cmd:` string into argv once, at load time, the way a POSIX
// shell splits words but with no expansion of any kind: whitespace separates,
// '...' is literal, "..." allows \" and \\ escapes, a backslash outside quotes
// escapes the next character. No globbing, variables, pipes or redirections.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace vhm::conf {

std::optional<std::vector<std::string>> split_command(std::string_view text, std::string& error);

}  // namespace vhm::conf
