#pragma once
// argv and environment of one hook run, built from the hook's templates and an
// event BEFORE fork(): the child of a multi-threaded process may not allocate.
// Substitution is per argument, so a value (spaces, quotes, ;|&$`, newlines)
// always arrives as part of exactly one argument, never as shell syntax.
#include <string>
#include <string_view>
#include <vector>

#include "conf/config.hpp"
#include "hooks/event.hpp"

namespace vhm::hooks {

struct CommandLine {
  std::vector<std::string> argv;  // argv[0]: the executable, used as execve's path
  std::vector<std::string> env;   // "NAME=value"
};

// A field as hooks see it; Field::event is always the event's kind name.
std::string hook_field_value(const Event& event, conf::Field field);

// argv and environ strings cannot carry NUL bytes; each NUL becomes U+FFFD
// (visible in the hook's input, unlike silently dropping it).
std::string replace_nul(std::string_view text);

// argv: hook.argv[0] as is, each other element with {field} placeholders
// replaced (unknown names stay literal; config validation rejects them).
// env: base_env (NULL-terminated, normally `environ`) minus the names set
// here, plus VNC_<FIELD> for every field, VNC_HOOK_NAME, and for run_as
// HOME, USER, LOGNAME and SHELL of that user.
CommandLine build_command_line(const conf::HookConfig& hook, const Event& event,
                               const char* const* base_env);

// NULL-terminated pointer arrays into a CommandLine, as execve wants them.
// The CommandLine must outlive this.
class ExecVectors {
 public:
  explicit ExecVectors(const CommandLine& command);
  char* const* argv() const { return argv_.data(); }
  char* const* envp() const { return envp_.data(); }
  const char* path() const { return argv_.front(); }

 private:
  std::vector<char*> argv_;
  std::vector<char*> envp_;
};

}  // namespace vhm::hooks
