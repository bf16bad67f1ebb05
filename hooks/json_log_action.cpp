#include "hooks/json_log_action.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>

#include "util/log.hpp"

#include "hooks/event_json.hpp"
#include "hooks/unique_fd.hpp"
#include "util/printable.hpp"

namespace vhm::hooks {

std::string event_json_line(const Event& event) { return event_to_json(event) + "\n"; }

std::string append_line(const std::filesystem::path& path, const std::string& line) {
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0640));
  if (!fd.valid()) return "cannot open: " + std::generic_category().message(errno);
  ssize_t written;
  do {
    written = ::write(fd.get(), line.data(), line.size());
  } while (written < 0 && errno == EINTR);
  if (written < 0) return "cannot write: " + std::generic_category().message(errno);
  // A short write (disk full) leaves a partial line; it is reported, not retried
  // piecewise, because a second write() could interleave with other writers.
  if (static_cast<std::size_t>(written) != line.size())
    return "short write (" + std::to_string(written) + " of " + std::to_string(line.size()) +
           " bytes)";
  return {};
}

HookResult run_log_action(const conf::HookConfig& hook, const Event& event) {
  HookResult result;
  result.name = hook.name;
  result.ran = true;
  const std::string error = append_line(hook.path, event_json_line(event));
  if (error.empty()) {
    result.exit_code = 0;
    spdlog::debug("hook {} [session {}] appended {} event to {}", util::printable(hook.name),
                  util::printable(event.session_id()), conf::to_string(event.kind),
                  util::printable(hook.path.string()));
  } else {
    result.exit_code = 1;
    spdlog::warn("hook {} [session {}] log action failed for {}: {}", util::printable(hook.name),
                 util::printable(event.session_id()), util::printable(hook.path.string()), error);
  }
  return result;
}

}  // namespace vhm::hooks
