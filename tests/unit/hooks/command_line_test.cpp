#include <catch2/catch.hpp>

#include <algorithm>

#include "hook_test_support.hpp"
#include "hooks/command_line.hpp"

using namespace vhm;
using namespace vhm::hooks;
using namespace vhm::hooks::test;
using conf::EventKind;
using conf::Field;

namespace {

const std::string hostile = "a b'\"; rm -rf / | cat & $(id) `id` $HOME\n\t\r\x01\x7f\xff end";

std::size_t count_prefix(const std::vector<std::string>& env, const std::string& prefix) {
  return static_cast<std::size_t>(std::count_if(env.begin(), env.end(), [&](const std::string& e) {
    return e.rfind(prefix, 0) == 0;
  }));
}

bool has_entry(const std::vector<std::string>& env, const std::string& entry) {
  return std::find(env.begin(), env.end(), entry) != env.end();
}

}  // namespace

TEST_CASE("placeholders are substituted per argument and a hostile value stays one argument") {
  auto hook = command_hook("h", {"/usr/bin/tool", "{user}", "x-{client_ip}:{client_port}-y",
                                 "{print $1}", "{nosuchfield}", "--event={event}"});
  Event event = make_event(EventKind::auth_failure, "s1");
  event[Field::user] = hostile;
  event[Field::event] = "";  // {event} comes from the kind, not from this text

  const CommandLine command = build_command_line(hook, event, nullptr);
  REQUIRE(command.argv.size() == 6);
  CHECK(command.argv[0] == "/usr/bin/tool");
  CHECK(command.argv[1] == hostile);
  CHECK(command.argv[2] == "x-192.0.2.7:50123-y");
  CHECK(command.argv[3] == "{print $1}");
  CHECK(command.argv[4] == "{nosuchfield}");
  CHECK(command.argv[5] == "--event=auth_failure");
}

TEST_CASE("NUL bytes in values become U+FFFD in argv and environment") {
  auto hook = command_hook("h", {"/bin/true", "<{desktop_name}>"});
  Event event = make_event(EventKind::connect, "s1");
  event[Field::desktop_name] = std::string("a\0b", 3);

  const CommandLine command = build_command_line(hook, event, nullptr);
  CHECK(command.argv[1] == "<a\xef\xbf\xbd" "b>");
  CHECK(has_entry(command.env, "VNC_DESKTOP_NAME=a\xef\xbf\xbd" "b"));
  CHECK(replace_nul(std::string("\0\0", 2)) == "\xef\xbf\xbd\xef\xbf\xbd");
}

TEST_CASE("the environment is the base one plus every field as VNC_* and VNC_HOOK_NAME") {
  auto hook = command_hook("notify me", {"/bin/true"});
  Event event = make_event(EventKind::connect, "abc123");
  event[Field::user] = "alice";
  const char* base[] = {"PATH=/usr/bin:/bin", "KEEP=1", "VNC_USER=stale", "VNC_HOOK_NAME=old",
                        nullptr};

  const CommandLine command = build_command_line(hook, event, base);
  CHECK(has_entry(command.env, "PATH=/usr/bin:/bin"));
  CHECK(has_entry(command.env, "KEEP=1"));
  CHECK(has_entry(command.env, "VNC_USER=alice"));
  CHECK_FALSE(has_entry(command.env, "VNC_USER=stale"));
  CHECK(count_prefix(command.env, "VNC_USER=") == 1);
  CHECK(has_entry(command.env, "VNC_HOOK_NAME=notify me"));
  CHECK(count_prefix(command.env, "VNC_HOOK_NAME=") == 1);
  CHECK(has_entry(command.env, "VNC_EVENT=connect"));
  CHECK(has_entry(command.env, "VNC_SESSION_ID=abc123"));
  CHECK(has_entry(command.env, "VNC_CLIENT_IP=192.0.2.7"));
  for (std::size_t i = 0; i < conf::field_count; ++i)
    CHECK(count_prefix(command.env, conf::env_name(static_cast<Field>(i)) + "=") == 1);
  CHECK(count_prefix(command.env, "HOME=") == 0);  // only run_as sets it
}

TEST_CASE("run_as sets HOME, USER, LOGNAME and SHELL of that user") {
  auto hook = command_hook("h", {"/bin/true"});
  hook.run_as = conf::RunAs{"svc", 990, 990, {990}, "/var/lib/svc", "/usr/sbin/nologin"};
  const char* base[] = {"HOME=/root", "USER=root", "LOGNAME=root", "SHELL=/bin/bash", nullptr};

  const CommandLine command = build_command_line(hook, make_event(EventKind::connect, "s"), base);
  CHECK(has_entry(command.env, "HOME=/var/lib/svc"));
  CHECK(has_entry(command.env, "USER=svc"));
  CHECK(has_entry(command.env, "LOGNAME=svc"));
  CHECK(has_entry(command.env, "SHELL=/usr/sbin/nologin"));
  CHECK(count_prefix(command.env, "HOME=") == 1);
  CHECK(count_prefix(command.env, "USER=") == 1);
}

TEST_CASE("ExecVectors are NULL-terminated views of argv and env") {
  CommandLine command{{"/bin/echo", "x"}, {"A=1"}};
  const ExecVectors vectors(command);
  CHECK(std::string(vectors.path()) == "/bin/echo");
  CHECK(std::string(vectors.argv()[1]) == "x");
  CHECK(vectors.argv()[2] == nullptr);
  CHECK(std::string(vectors.envp()[0]) == "A=1");
  CHECK(vectors.envp()[1] == nullptr);
}
