#pragma once
// Finds a hook's executable at load time, so a typo is a config error with a
// line number rather than a failed exec at 3 a.m., and the child process never
// searches PATH. Rules (as users of VNC hook managers expect):
//   "/abs/path"  must exist and be an executable regular file;
//   "dir/name"   (contains '/') resolves against hooks_dir;
//   "name"       hooks_dir/name first, then each absolute directory of PATH.
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

namespace vhm::conf {

// Used when PATH is unset (the same default as execvp's confstr(_CS_PATH)).
inline constexpr std::string_view default_search_path = "/usr/local/bin:/usr/bin:/bin";

// The absolute, lexically normal path, or nullopt with `error` saying what was tried.
std::optional<std::filesystem::path> resolve_executable(std::string_view name,
                                                        const std::filesystem::path& hooks_dir,
                                                        std::string_view search_path, std::string& error);

// PATH from the environment, or default_search_path when unset.
std::string current_search_path();

}  // namespace vhm::conf
