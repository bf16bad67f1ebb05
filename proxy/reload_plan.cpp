#include "proxy/reload_plan.hpp"

#include <optional>

#include "conf/address.hpp"

namespace vhm::proxy {
namespace {

// bind_acceptor binds "localhost" as 127.0.0.1.
std::string bind_host(const std::string& host) { return host == "localhost" ? "127.0.0.1" : host; }

bool same_target(const conf::ListenerConfig& a, const conf::ListenerConfig& b) {
  return a.target.host == b.target.host && a.target.port == b.target.port;
}

std::string path_text(const std::filesystem::path& path) { return path.empty() ? "(none)" : path.string(); }

void note_change(std::vector<std::string>& out, const std::string& what, const std::string& in_force,
                 const std::string& wanted) {
  if (in_force != wanted) out.push_back(what + " changed (" + in_force + " -> " + wanted + "); still " + in_force);
}

bool same_address(const conf::ListenerConfig& a, const conf::ListenerConfig& b) {
  return bind_host(a.listen.host) == bind_host(b.listen.host) && a.listen.port == b.listen.port;
}

}  // namespace

bool same_socket(const conf::ListenerConfig& a, const conf::ListenerConfig& b) {
  const bool a_tproxy = a.transparent == conf::Transparent::tproxy;
  const bool b_tproxy = b.transparent == conf::Transparent::tproxy;
  return same_address(a, b) && a_tproxy == b_tproxy;
}

ReloadPlan plan_reload(const conf::Config& current, const conf::Config& next) {
  ReloadPlan plan;
  std::vector<bool> old_taken(current.listeners.size(), false);
  std::vector<std::optional<std::size_t>> match(next.listeners.size());
  const auto pass = [&](bool need_same_target) {
    for (std::size_t j = 0; j < next.listeners.size(); ++j) {
      if (match[j]) continue;
      for (std::size_t i = 0; i < current.listeners.size(); ++i) {
        if (old_taken[i] || !same_socket(current.listeners[i], next.listeners[j])) continue;
        if (need_same_target && !same_target(current.listeners[i], next.listeners[j])) continue;
        old_taken[i] = true;
        match[j] = i;
        break;
      }
    }
  };
  pass(true);
  pass(false);
  for (std::size_t j = 0; j < next.listeners.size(); ++j) {
    if (match[j])
      plan.kept.push_back({*match[j], j});
    else
      plan.opened.push_back(j);
  }
  for (std::size_t i = 0; i < current.listeners.size(); ++i)
    if (!old_taken[i]) plan.closed.push_back(i);
  for (const std::size_t j : plan.opened) {
    for (const std::size_t i : plan.closed) {
      const auto& wanted = next.listeners[j];
      // Port 0 asks for a fresh port: no clash with the old socket.
      if (wanted.listen.port == 0 || !same_address(current.listeners[i], wanted)) continue;
      plan.refusal = "listener " + conf::format_host_port(wanted.listen) + " (line " + std::to_string(wanted.line) +
                     ") changes transparent: tproxy, which needs a new listening socket: restart to apply it";
      return plan;
    }
  }

  auto& restart = plan.needs_restart;
  note_change(restart, "control socket", path_text(current.control_socket), path_text(next.control_socket));
  note_change(restart, "global.log_file", path_text(current.global.log_file), path_text(next.global.log_file));
  note_change(restart, "global.log_level", current.global.log_level, next.global.log_level);
  note_change(restart, "global.user", current.global.user ? current.global.user->name : "(none)",
              next.global.user ? next.global.user->name : "(none)");
  note_change(restart, "global.group", current.global.group.empty() ? "(none)" : current.global.group,
              next.global.group.empty() ? "(none)" : next.global.group);
  return plan;
}

}  // namespace vhm::proxy
