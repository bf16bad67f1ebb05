#include "service/capabilities.hpp"

#include <algorithm>

namespace vhm::service {
namespace {

constexpr std::uint16_t first_unprivileged_port = 1024;

void add(std::vector<NeededCapability>& needed, cap_value_t capability, const std::string& reason) {
  for (const auto& item : needed)
    if (item.capability == capability) return;
  needed.push_back({capability, reason});
}

std::string listen_text(const conf::HostPort& listen) {
  return (listen.host.empty() ? std::string("*") : listen.host) + ":" + std::to_string(listen.port);
}

}  // namespace

std::vector<NeededCapability> needed_capabilities(const conf::Config& config) {
  std::vector<NeededCapability> needed;
  for (const auto& listener : config.listeners) {
    if (listener.transparent == conf::Transparent::tproxy)
      add(needed, CAP_NET_ADMIN, "transparent: tproxy on " + listen_text(listener.listen));
    // Port 0 lets the kernel choose: never a privileged port.
    if (listener.listen.port != 0 && listener.listen.port < first_unprivileged_port)
      add(needed, CAP_NET_BIND_SERVICE, "port " + std::to_string(listener.listen.port) + " below 1024");
  }
  for (const auto& [kind, hooks] : config.events) {
    for (const auto& hook : hooks) {
      if (hook.action != conf::HookAction::command || !hook.run_as) continue;
      const std::string reason = "hook " + hook.name + " has run_as: " + hook.run_as->name;
      add(needed, CAP_SETUID, reason);
      add(needed, CAP_SETGID, reason);
      add(needed, CAP_KILL, reason);
    }
  }
  std::sort(needed.begin(), needed.end(),
            [](const NeededCapability& a, const NeededCapability& b) { return a.capability < b.capability; });
  return needed;
}

std::string capability_name(cap_value_t capability) {
  char* text = cap_to_name(capability);
  if (!text) return "cap_" + std::to_string(capability);
  std::string name(text);
  cap_free(text);
  return name;
}

std::string capability_list(const std::vector<NeededCapability>& capabilities) {
  if (capabilities.empty()) return "no capabilities";
  std::string text;
  for (const auto& item : capabilities) text += (text.empty() ? "" : ", ") + capability_name(item.capability);
  return text;
}

}  // namespace vhm::service
