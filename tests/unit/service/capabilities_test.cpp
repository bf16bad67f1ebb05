#include <catch2/catch.hpp>

#include "conf/user_lookup.hpp"
#include "service/capabilities.hpp"

using vhm::conf::Config;
using vhm::conf::HookConfig;
using vhm::conf::ListenerConfig;
using vhm::conf::Transparent;
using vhm::service::capability_list;
using vhm::service::capability_name;
using vhm::service::needed_capabilities;

namespace {

ListenerConfig listener(std::uint16_t port, Transparent mode = Transparent::off) {
  ListenerConfig config;
  config.listen = {"127.0.0.1", port};
  config.target = {"127.0.0.1", 5901};
  config.transparent = mode;
  return config;
}

HookConfig command_hook(std::string name, const char* run_as = nullptr) {
  HookConfig hook;
  hook.name = std::move(name);
  hook.argv = {"/bin/true"};
  if (run_as) {
    std::string error;
    hook.run_as = vhm::conf::resolve_user(run_as, error);
    REQUIRE(hook.run_as);
  }
  return hook;
}

std::vector<cap_value_t> values(const Config& config) {
  std::vector<cap_value_t> result;
  for (const auto& item : needed_capabilities(config)) result.push_back(item.capability);
  return result;
}

}  // namespace

TEST_CASE("capabilities: a config with plain listeners on high ports and no run_as needs none") {
  Config config;
  config.listeners = {listener(5900), listener(0), listener(1024)};
  config.events[vhm::conf::EventKind::connect] = {command_hook("announce")};
  CHECK(values(config).empty());
  CHECK(capability_list(needed_capabilities(config)) == "no capabilities");
}

TEST_CASE("capabilities: transparent tproxy needs cap_net_admin only, redirect needs nothing") {
  Config config;
  config.listeners = {listener(5900, Transparent::redirect)};
  CHECK(values(config).empty());

  config.listeners.push_back(listener(5901, Transparent::tproxy));
  const auto needed = needed_capabilities(config);
  REQUIRE(needed.size() == 1);
  CHECK(needed[0].capability == CAP_NET_ADMIN);
  CHECK(needed[0].reason == "transparent: tproxy on 127.0.0.1:5901");
}

TEST_CASE("capabilities: a hook with run_as needs cap_setuid, cap_setgid and cap_kill") {
  Config config;
  config.listeners = {listener(5900)};
  config.events[vhm::conf::EventKind::disconnect] = {command_hook("plain"), command_hook("as_nobody", "nobody")};
  CHECK(values(config) == std::vector<cap_value_t>{CAP_KILL, CAP_SETGID, CAP_SETUID});
  for (const auto& item : needed_capabilities(config)) CHECK(item.reason == "hook as_nobody has run_as: nobody");
}

TEST_CASE("capabilities: a log action never needs run_as capabilities") {
  Config config;
  HookConfig log_hook;
  log_hook.name = "audit";
  log_hook.action = vhm::conf::HookAction::log;
  log_hook.path = "/tmp/audit.jsonl";
  config.events[vhm::conf::EventKind::connect] = {log_hook};
  CHECK(values(config).empty());
}

TEST_CASE("capabilities: a listener port from 1 to 1023 needs cap_net_bind_service, 0 and 1024 do not") {
  Config config;
  config.listeners = {listener(0), listener(1024)};
  CHECK(values(config).empty());
  config.listeners = {listener(1023)};
  CHECK(values(config) == std::vector<cap_value_t>{CAP_NET_BIND_SERVICE});
  config.listeners = {listener(1)};
  CHECK(values(config) == std::vector<cap_value_t>{CAP_NET_BIND_SERVICE});
  CHECK(needed_capabilities(config)[0].reason == "port 1 below 1024");
}

TEST_CASE("capabilities: every need at once gives each capability once, sorted, first reason kept") {
  Config config;
  config.listeners = {listener(443, Transparent::tproxy), listener(80, Transparent::tproxy)};
  config.events[vhm::conf::EventKind::connect] = {command_hook("first", "nobody"), command_hook("second", "nobody")};
  const auto needed = needed_capabilities(config);
  CHECK(values(config) ==
        std::vector<cap_value_t>{CAP_KILL, CAP_SETGID, CAP_SETUID, CAP_NET_BIND_SERVICE, CAP_NET_ADMIN});
  for (const auto& item : needed) {
    if (item.capability == CAP_NET_ADMIN) CHECK(item.reason == "transparent: tproxy on 127.0.0.1:443");
    if (item.capability == CAP_NET_BIND_SERVICE) CHECK(item.reason == "port 443 below 1024");
    if (item.capability == CAP_SETUID) CHECK(item.reason == "hook first has run_as: nobody");
  }
  CHECK(capability_list(needed) == "cap_kill, cap_setgid, cap_setuid, cap_net_bind_service, cap_net_admin");
}

TEST_CASE("capabilities: names are libcap's lowercase names") {
  CHECK(capability_name(CAP_NET_ADMIN) == "cap_net_admin");
  CHECK(capability_name(CAP_NET_BIND_SERVICE) == "cap_net_bind_service");
  CHECK(capability_name(CAP_SETUID) == "cap_setuid");
}
