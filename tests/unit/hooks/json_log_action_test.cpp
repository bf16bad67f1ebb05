// The only translation unit of unit_hooks that compiles Boost.JSON.
#include <boost/json.hpp>
#include <catch2/catch.hpp>

#include <sys/stat.h>

#include <set>

#include "hook_test_support.hpp"
#include "hooks/dispatcher.hpp"
#include "hooks/json_log_action.hpp"

using namespace vhm;
using namespace vhm::hooks;
using namespace vhm::hooks::test;
using conf::EventKind;
using conf::Field;

namespace {

boost::json::object parse_line(const std::string& line) {
  boost::system::error_code error;
  boost::json::value value = boost::json::parse(line, error);
  INFO(line);
  REQUIRE_FALSE(error);
  REQUIRE(value.is_object());
  return value.as_object();
}

std::string text_of(const boost::json::object& object, std::string_view key) {
  const auto* value = object.if_contains(key);
  if (!value || !value->is_string()) return "<missing>";
  return std::string(value->as_string());
}

}  // namespace

TEST_CASE("log action: one valid JSON line per event, hostile values survive the round trip") {
  TempDir dir;
  auto config = make_config();
  for (auto kind : {EventKind::connect, EventKind::disconnect})
    config->events[kind].push_back(log_hook("audit", dir.file("events.jsonl")));
  const std::string hostile = "quote\" backslash\\ newline\n cr\r tab\t bell\x07 del\x7f {\"x\":1}\n}";
  const std::string invalid_utf8 = "ok\xff\xc3(\xed\xa0\x80 end";

  Outcomes outcomes;
  {
    HookDispatcher dispatcher(config);
    Event connect = make_event(EventKind::connect, "4f2a");
    connect[Field::desktop_name] = hostile;
    connect[Field::user] = "Jürgen";
    dispatcher.publish(connect, outcomes.expect("connect"));
    Event disconnect = make_event(EventKind::disconnect, "4f2a");
    disconnect[Field::reason] = invalid_utf8;
    disconnect[Field::bytes_in] = "12345";
    dispatcher.publish(disconnect, outcomes.expect("disconnect"));
    REQUIRE(outcomes.wait_for(2));
  }
  CHECK(outcomes.get("connect").results.at(0).ok());

  const auto lines = read_lines(dir.file("events.jsonl"));
  REQUIRE(lines.size() == 2);
  const auto first = parse_line(lines[0]);
  CHECK(first.size() == conf::field_count);
  CHECK(text_of(first, "event") == "connect");
  CHECK(text_of(first, "session_id") == "4f2a");
  CHECK(text_of(first, "client_ip") == "192.0.2.7");
  CHECK(text_of(first, "desktop_name") == hostile);
  CHECK(text_of(first, "user") == "Jürgen");
  CHECK(text_of(first, "reason").empty());
  const auto second = parse_line(lines[1]);
  CHECK(text_of(second, "event") == "disconnect");
  CHECK(text_of(second, "reason") ==
        "ok\xef\xbf\xbd\xef\xbf\xbd(\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd end");
  CHECK(text_of(second, "bytes_in") == "12345");

  struct stat info {};
  REQUIRE(::stat(dir.file("events.jsonl").c_str(), &info) == 0);
  CHECK((info.st_mode & 0777) == (0640 & ~[] { mode_t m = ::umask(0); ::umask(m); return m; }()));
}

TEST_CASE("log action: concurrent appends never interleave lines") {
  TempDir dir;
  const std::string path = dir.file("shared.jsonl");
  constexpr int writers = 8, per_writer = 150;
  std::vector<std::thread> threads;
  for (int w = 0; w < writers; ++w) {
    threads.emplace_back([&, w] {
      for (int i = 0; i < per_writer; ++i) {
        Event event = make_event(EventKind::connect, std::to_string(w) + "-" + std::to_string(i));
        event[Field::desktop_name] = std::string(static_cast<std::size_t>(1 + (i * 997) % 20000),
                                                 static_cast<char>('a' + w));
        CHECK(append_line(path, event_json_line(event)).empty());
      }
    });
  }
  for (auto& thread : threads) thread.join();

  const auto lines = read_lines(path);
  REQUIRE(lines.size() == static_cast<std::size_t>(writers * per_writer));
  std::set<std::string> sessions;
  for (const auto& line : lines) {
    const auto object = parse_line(line);
    const std::string session = text_of(object, "session_id");
    const int writer = std::stoi(session);
    const int index = std::stoi(session.substr(session.find('-') + 1));
    CHECK(text_of(object, "desktop_name") ==
          std::string(static_cast<std::size_t>(1 + (index * 997) % 20000),
                      static_cast<char>('a' + writer)));
    sessions.insert(session);
  }
  CHECK(sessions.size() == lines.size());
}

TEST_CASE("log action: a failed write is logged, counted as failed and retried") {
  TempDir dir;
  LogCapture log;
  auto config = make_config();
  auto hook = log_hook("audit", dir.file("no/such/dir/events.jsonl"));
  hook.retries = 1;
  config->events[EventKind::connect].push_back(hook);
  Outcomes outcomes;
  HookDispatcher dispatcher(config);
  dispatcher.publish(make_event(EventKind::connect, "s1"), outcomes.expect("e"));
  REQUIRE(outcomes.wait_for(1));
  const auto outcome = outcomes.get("e");
  CHECK_FALSE(outcome.dropped);
  CHECK_FALSE(outcome.results.at(0).ok());
  CHECK(dispatcher.stats().runs_started == 2);
  CHECK(dispatcher.stats().runs_failed == 2);
  CHECK(log.contains("hook audit [session s1] log action failed for " +
                     dir.file("no/such/dir/events.jsonl") +
                     ": cannot open: No such file or directory"));
  CHECK(log.contains("retrying in 250 ms (attempt 2 of 2)"));
}
