#include "conf/executable_lookup.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <vector>

#include "util/printable.hpp"

namespace vhm::conf {
namespace fs = std::filesystem;
namespace {

enum class Check { ok, missing, not_regular, not_executable };

Check check_executable(const fs::path& path) {
  struct stat info {};
  if (::stat(path.c_str(), &info) != 0) return Check::missing;
  if (!S_ISREG(info.st_mode)) return Check::not_regular;
  if (::access(path.c_str(), X_OK) != 0) return Check::not_executable;
  return Check::ok;
}

std::string quoted(const fs::path& path) { return "\"" + util::printable(path.native(), 300) + "\""; }

// Why a candidate that exists cannot be used; empty for ok or missing.
std::string unusable_reason(const fs::path& path, Check check) {
  if (check == Check::not_regular) return quoted(path) + " is not a regular file";
  if (check == Check::not_executable) return quoted(path) + " is not executable";
  return {};
}

std::string hooks_dir_note(const fs::path& hooks_dir) {
  std::error_code ec;
  if (!hooks_dir.is_absolute()) return " (no absolute hooks_dir)";
  if (!fs::exists(hooks_dir, ec)) return " (hooks_dir " + quoted(hooks_dir) + " does not exist)";
  if (!fs::is_directory(hooks_dir, ec)) return " (hooks_dir " + quoted(hooks_dir) + " is not a directory)";
  return {};
}

std::vector<fs::path> absolute_dirs(std::string_view search_path) {
  std::vector<fs::path> dirs;
  std::size_t start = 0;
  while (start <= search_path.size()) {
    auto end = search_path.find(':', start);
    if (end == std::string_view::npos) end = search_path.size();
    const fs::path dir(search_path.substr(start, end - start));
    // Empty and relative entries would depend on the daemon's working directory.
    if (dir.is_absolute()) dirs.push_back(dir);
    start = end + 1;
  }
  return dirs;
}

}  // namespace

std::string current_search_path() {
  const char* path = std::getenv("PATH");
  return path ? std::string(path) : std::string(default_search_path);
}

std::optional<fs::path> resolve_executable(std::string_view name, const fs::path& hooks_dir,
                                           std::string_view search_path, std::string& error) {
  if (name.empty()) {
    error = "the command has an empty executable name";
    return std::nullopt;
  }
  const fs::path program(name);
  if (program.is_absolute()) {
    const fs::path candidate = program.lexically_normal();
    const Check check = check_executable(candidate);
    if (check == Check::ok) return candidate;
    error = check == Check::missing ? quoted(candidate) + " does not exist" : unusable_reason(candidate, check);
    return std::nullopt;
  }
  if (name.find('/') != std::string_view::npos) {
    const fs::path candidate = (hooks_dir / program).lexically_normal();
    if (!hooks_dir.is_absolute()) {
      error = quoted(program) + " is relative but there is no absolute hooks_dir to resolve it against";
      return std::nullopt;
    }
    const Check check = check_executable(candidate);
    if (check == Check::ok) return candidate;
    error = check == Check::missing ? quoted(program) + " not found: tried " + quoted(candidate) + hooks_dir_note(hooks_dir)
                                    : unusable_reason(candidate, check);
    return std::nullopt;
  }

  // A bare name: hooks_dir first, then PATH. An unusable file found on the way
  // is remembered so the error can say why it was skipped.
  std::string skipped;
  const fs::path in_hooks = (hooks_dir / program).lexically_normal();
  if (hooks_dir.is_absolute()) {
    if (const Check check = check_executable(in_hooks); check == Check::ok)
      return in_hooks;
    else if (check != Check::missing)
      skipped = unusable_reason(in_hooks, check);
  }
  for (const auto& dir : absolute_dirs(search_path)) {
    const fs::path candidate = (dir / program).lexically_normal();
    const Check check = check_executable(candidate);
    if (check == Check::ok) return candidate;
    if (check != Check::missing && skipped.empty()) skipped = unusable_reason(candidate, check);
  }
  error = quoted(program) + " not found: tried " + quoted(in_hooks) + hooks_dir_note(hooks_dir) + " and PATH " +
          quoted(fs::path(search_path));
  if (!skipped.empty()) error += "; " + skipped;
  return std::nullopt;
}

}  // namespace vhm::conf
