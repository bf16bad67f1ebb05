#include "service/startup_checks.hpp"

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <set>

#include "service/capabilities.hpp"

namespace vhm::service {
namespace {

namespace fs = std::filesystem;

std::string who(const conf::Config& config) {
  if (config.global.user) return "user " + config.global.user->name;
  return "uid " + std::to_string(::geteuid());
}

// Empty when `dir` lets this process create and replace files; else why not.
std::string directory_problem(const fs::path& dir) {
  if (::access(dir.c_str(), W_OK | X_OK) == 0) return {};
  return dir.string() + ": " + std::strerror(errno);
}

// Appending to `file`: an existing file must be writable, a new one creatable.
std::string append_problem(const fs::path& file) {
  if (::access(file.c_str(), F_OK) == 0) {
    if (::access(file.c_str(), W_OK) == 0) return {};
    return file.string() + ": " + std::strerror(errno);
  }
  return directory_problem(file.parent_path());
}

}  // namespace

std::vector<std::string> startup_warnings(const conf::Config& config) {
  std::vector<std::string> warnings;
  const std::string identity = who(config);

  if (config.blocking && !config.blocking->state_file.empty()) {
    // Saved by writing a temporary file next to it and renaming it over.
    const auto& file = config.blocking->state_file;
    if (auto problem = directory_problem(file.parent_path()); !problem.empty())
      warnings.push_back("blocking: state_file " + file.string() + " cannot be saved by " + identity + " (" +
                         problem + "); bans will not survive a restart");
  }

  std::set<fs::path> log_files;
  for (const auto& [kind, hooks] : config.events) {
    for (const auto& hook : hooks) {
      if (hook.action == conf::HookAction::log && log_files.insert(hook.path).second) {
        if (auto problem = append_problem(hook.path); !problem.empty())
          warnings.push_back("hook " + hook.name + ": log file " + hook.path.string() + " is not writable by " +
                             identity + " (" + problem + ")");
      }
      if (config.global.user && hook.run_as && hook.run_as->uid == 0)
        warnings.push_back("hook " + hook.name +
                           " has run_as: root, but the proxy no longer is root: it runs with at most " +
                           capability_list(needed_capabilities(config)));
    }
  }

  if (!config.control_socket.empty()) {
    if (auto problem = directory_problem(config.control_socket.parent_path()); !problem.empty())
      warnings.push_back("control socket " + config.control_socket.string() + ": its directory is not writable by " +
                         identity + " (" + problem + "), so the socket file stays after exit (the next start replaces it)");
  }
  return warnings;
}

}  // namespace vhm::service
