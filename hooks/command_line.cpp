#include "hooks/command_line.hpp"

#include <algorithm>
#include <set>

#include "conf/placeholders.hpp"

namespace vhm::hooks {

std::string hook_field_value(const Event& event, conf::Field field) {
  if (field == conf::Field::event) return std::string(conf::to_string(event.kind));
  return event[field];
}

std::string replace_nul(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    if (c == '\0')
      out += "\xef\xbf\xbd";  // U+FFFD REPLACEMENT CHARACTER
    else
      out += c;
  }
  return out;
}

CommandLine build_command_line(const conf::HookConfig& hook, const Event& event,
                               const char* const* base_env) {
  CommandLine command;
  const auto lookup = [&](std::string_view name) -> std::string {
    if (auto field = conf::parse_field(name)) return hook_field_value(event, *field);
    return "{" + std::string(name) + "}";
  };
  for (std::size_t i = 0; i < hook.argv.size(); ++i) {
    command.argv.push_back(replace_nul(i == 0 ? std::string_view(hook.argv[i])
                                              : conf::expand_placeholders(hook.argv[i], lookup)));
  }

  std::vector<std::string> own;
  for (std::size_t i = 0; i < conf::field_count; ++i) {
    const auto field = static_cast<conf::Field>(i);
    own.push_back(conf::env_name(field) + "=" + replace_nul(hook_field_value(event, field)));
  }
  own.push_back("VNC_HOOK_NAME=" + replace_nul(hook.name));
  if (hook.run_as) {
    const conf::RunAs& user = *hook.run_as;
    own.push_back("HOME=" + replace_nul(user.home.empty() ? "/" : user.home));
    own.push_back("USER=" + replace_nul(user.name));
    own.push_back("LOGNAME=" + replace_nul(user.name));
    own.push_back("SHELL=" + replace_nul(user.shell.empty() ? "/bin/sh" : user.shell));
  }

  std::set<std::string, std::less<>> own_names;
  for (const auto& entry : own) own_names.insert(entry.substr(0, entry.find('=')));
  for (const char* const* entry = base_env; entry && *entry; ++entry) {
    const std::string_view text(*entry);
    if (!own_names.contains(text.substr(0, text.find('=')))) command.env.emplace_back(text);
  }
  command.env.insert(command.env.end(), own.begin(), own.end());
  return command;
}

ExecVectors::ExecVectors(const CommandLine& command) {
  // execve's prototype lacks const but never writes through these pointers.
  for (const auto& arg : command.argv) argv_.push_back(const_cast<char*>(arg.c_str()));
  argv_.push_back(nullptr);
  for (const auto& entry : command.env) envp_.push_back(const_cast<char*>(entry.c_str()));
  envp_.push_back(nullptr);
}

}  // namespace vhm::hooks
