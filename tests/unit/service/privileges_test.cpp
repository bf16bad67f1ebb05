#include <catch2/catch.hpp>

#include <grp.h>
#include <sys/capability.h>
#include <sys/stat.h>

#include <algorithm>
#include <filesystem>

#include "conf/user_lookup.hpp"
#include "service/privileges.hpp"
#include "service/startup_checks.hpp"
#include "service_test_support.hpp"

using vhm::service::drop_privileges;
using vhm::service::test::in_child;
using vhm::service::test::mask_of;
using vhm::service::test::proc_status;

namespace {

vhm::conf::RunAs user(const char* name) {
  std::string error;
  auto resolved = vhm::conf::resolve_user(name, error);
  REQUIRE(resolved);
  return *resolved;
}

// Uid, Gid, Groups and the five capability sets of the calling thread after the drop.
std::string drop_and_describe(const vhm::conf::Config& config) {
  const auto outcome = drop_privileges(config);
  if (!outcome.ok) return "error: " + outcome.message;
  return outcome.message + "\nUid=" + proc_status("Uid") + "\nGid=" + proc_status("Gid") + "\nGroups=" +
         proc_status("Groups") + "\nCapInh=" + proc_status("CapInh") + "\nCapPrm=" + proc_status("CapPrm") +
         "\nCapEff=" + proc_status("CapEff") + "\nCapBnd=" + proc_status("CapBnd") + "\nCapAmb=" +
         proc_status("CapAmb") + "\n";
}

bool has_line(const std::string& text, const std::string& line) {
  return text.find(line + "\n") != std::string::npos;
}

}  // namespace

TEST_CASE("drop: without user: the process keeps its identity and says so") {
  vhm::conf::Config config;
  const std::string before = "Uid=" + proc_status("Uid") + "\nCapEff=" + proc_status("CapEff") + "\n";
  const std::string after = in_child([&] {
    const auto outcome = drop_privileges(config);
    return std::string(outcome.ok ? "ok " : "error ") + outcome.message + "\nUid=" + proc_status("Uid") +
           "\nCapEff=" + proc_status("CapEff") + "\n";
  });
  CHECK(after.find(before) != std::string::npos);
  CHECK(after.rfind("ok running as ", 0) == 0);
  CHECK(after.find("(no global user: configured)") != std::string::npos);
}

TEST_CASE("drop: as root to nobody with no needs leaves every capability set empty") {
  if (::geteuid() != 0) FAIL("this test switches users: run it as root (CI does)");
  vhm::conf::Config config;
  config.global.user = user("nobody");
  const auto& nobody = *config.global.user;
  const std::string text = in_child([&] { return drop_and_describe(config); });
  INFO(text);
  CHECK(text.rfind("running as nobody:", 0) == 0);
  CHECK(text.find("with no capabilities") != std::string::npos);
  const std::string uid = std::to_string(nobody.uid), gid = std::to_string(nobody.gid);
  CHECK(has_line(text, "Uid=" + uid + "\t" + uid + "\t" + uid + "\t" + uid));
  CHECK(has_line(text, "Gid=" + gid + "\t" + gid + "\t" + gid + "\t" + gid));
  const std::string none = mask_of({});
  for (const char* set : {"CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"})
    CHECK(has_line(text, std::string(set) + "=" + none));
}

TEST_CASE("drop: as root to nobody with a tproxy listener keeps cap_net_admin only, bounding set included") {
  if (::geteuid() != 0) FAIL("this test switches users: run it as root (CI does)");
  vhm::conf::Config config;
  config.global.user = user("nobody");
  vhm::conf::ListenerConfig listener;
  listener.listen = {"0.0.0.0", 5900};
  listener.transparent = vhm::conf::Transparent::tproxy;
  config.listeners = {listener};
  const std::string text = in_child([&] { return drop_and_describe(config); });
  INFO(text);
  CHECK(text.rfind("running as nobody:nogroup with cap_net_admin (transparent: tproxy on 0.0.0.0:5900)", 0) == 0);
  const std::string admin = mask_of({CAP_NET_ADMIN});
  CHECK(has_line(text, "CapPrm=" + admin));
  CHECK(has_line(text, "CapEff=" + admin));
  CHECK(has_line(text, "CapBnd=" + admin));
  CHECK(has_line(text, "CapInh=" + mask_of({})));
  CHECK(has_line(text, "CapAmb=" + mask_of({})));
}

TEST_CASE("drop: a run_as hook keeps setuid, setgid and kill, and the child can still switch users") {
  if (::geteuid() != 0) FAIL("this test switches users: run it as root (CI does)");
  vhm::conf::Config config;
  config.global.user = user("nobody");
  vhm::conf::HookConfig hook;
  hook.name = "as_daemon";
  hook.argv = {"/bin/true"};
  hook.run_as = user("daemon");
  config.events[vhm::conf::EventKind::connect] = {hook};
  const auto daemon = *hook.run_as;
  const std::string text = in_child([&] {
    std::string description = drop_and_describe(config);
    // What a hook's child does: switch to the run_as user.
    const bool switched = ::setgroups(daemon.groups.size(), daemon.groups.data()) == 0 &&
                          ::setgid(daemon.gid) == 0 && ::setuid(daemon.uid) == 0 && ::getuid() == daemon.uid;
    return description + "switched=" + (switched ? "yes" : "no") + "\n";
  });
  INFO(text);
  const std::string kept = mask_of({CAP_SETUID, CAP_SETGID, CAP_KILL});
  CHECK(has_line(text, "CapPrm=" + kept));
  CHECK(has_line(text, "CapEff=" + kept));
  CHECK(has_line(text, "CapBnd=" + kept));
  CHECK(has_line(text, "switched=yes"));
}

TEST_CASE("drop: a user: while not root is a clear error that names the user") {
  if (::geteuid() != 0) FAIL("this test needs root to become a plain user first (CI runs as root)");
  vhm::conf::Config config;
  config.global.user = user("daemon");
  const auto nobody = user("nobody");
  const std::string text = in_child([&] {
    if (::setresgid(nobody.gid, nobody.gid, nobody.gid) != 0 || ::setresuid(nobody.uid, nobody.uid, nobody.uid) != 0)
      return std::string("setup failed");
    const auto outcome = drop_privileges(config);
    return std::string(outcome.ok ? "ok: " : "error: ") + outcome.message;
  });
  CHECK(text.rfind("error: cannot switch to user daemon:", 0) == 0);
  CHECK(text.find("not root") != std::string::npos);
}

TEST_CASE("drop: a user: that the process already is needs no switch") {
  if (::geteuid() != 0) FAIL("this test needs root to become a plain user first (CI runs as root)");
  vhm::conf::Config config;
  config.global.user = user("nobody");
  const auto nobody = *config.global.user;
  const std::string text = in_child([&] {
    if (::setgroups(nobody.groups.size(), nobody.groups.data()) != 0 ||
        ::setresgid(nobody.gid, nobody.gid, nobody.gid) != 0 || ::setresuid(nobody.uid, nobody.uid, nobody.uid) != 0)
      return std::string("setup failed");
    const auto outcome = drop_privileges(config);
    return std::string(outcome.ok ? "ok: " : "error: ") + outcome.message;
  });
  CHECK(text.rfind("ok: running as nobody:", 0) == 0);
}

TEST_CASE("startup checks: after the drop, a state file or log file the user cannot write is a warning") {
  if (::geteuid() != 0) FAIL("this test switches users: run it as root (CI does)");
  namespace fs = std::filesystem;
  const fs::path base = fs::temp_directory_path() / ("vhm-service-test-" + std::to_string(::getpid()));
  fs::create_directories(base / "closed");
  fs::create_directories(base / "open");
  ::chmod(base.c_str(), 0755);
  ::chmod((base / "closed").c_str(), 0755);  // root's: nobody cannot create files here
  ::chmod((base / "open").c_str(), 0777);

  vhm::conf::Config config;
  config.global.user = user("nobody");
  vhm::conf::BlockingConfig blocking;
  blocking.state_file = base / "closed" / "bans.json";
  config.blocking = blocking;
  vhm::conf::HookConfig good, bad;
  good.name = "good_audit";
  good.action = bad.action = vhm::conf::HookAction::log;
  good.path = base / "open" / "audit.jsonl";
  bad.name = "bad_audit";
  bad.path = base / "closed" / "audit.jsonl";
  config.events[vhm::conf::EventKind::disconnect] = {good, bad};
  config.control_socket = base / "open" / "control.sock";

  const std::string text = in_child([&] {
    const auto outcome = drop_privileges(config);
    if (!outcome.ok) return "error: " + outcome.message;
    std::string lines;
    for (const auto& warning : vhm::service::startup_warnings(config)) lines += warning + "\n";
    return lines;
  });
  fs::remove_all(base);
  INFO(text);
  CHECK(text.find("blocking: state_file " + (base / "closed" / "bans.json").string() +
                  " cannot be saved by user nobody") != std::string::npos);
  CHECK(text.find("hook bad_audit: log file") != std::string::npos);
  CHECK(text.find("good_audit") == std::string::npos);
  CHECK(text.find("control socket") == std::string::npos);
  CHECK(std::count(text.begin(), text.end(), '\n') == 2);
}

TEST_CASE("startup checks: a run_as root hook under a dropped user is a warning naming what it keeps") {
  vhm::conf::Config config;
  config.global.user = user("nobody");
  vhm::conf::HookConfig hook;
  hook.name = "as_root";
  hook.argv = {"/bin/true"};
  hook.run_as = user("root");
  config.events[vhm::conf::EventKind::connect] = {hook};
  const auto warnings = vhm::service::startup_warnings(config);
  REQUIRE(warnings.size() == 1);
  CHECK(warnings[0] ==
        "hook as_root has run_as: root, but the proxy no longer is root: it runs with at most cap_kill, cap_setgid, "
        "cap_setuid");
}
