#include <catch2/catch.hpp>

#include <signal.h>

#include <algorithm>
#include <atomic>
#include <fstream>
#include <future>

#include "hook_test_support.hpp"
#include "hooks/dispatcher.hpp"

using namespace vhm;
using namespace vhm::hooks;
using namespace vhm::hooks::test;
using conf::EventKind;
using conf::Field;

namespace {

// stamp.sh LOG LABEL SECONDS: records "LABEL start NS" and "LABEL end NS".
std::string stamp_script(const TempDir& dir) {
  return dir.script("stamp.sh", R"sh(echo "$2 start $(date +%s%N)" >> "$1"
sleep "$3"
echo "$2 end $(date +%s%N)" >> "$1")sh");
}

// block.sh RELEASE_FILE: waits until the file exists.
std::string block_script(const TempDir& dir) {
  return dir.script("block.sh", R"(while [ ! -e "$1" ]; do sleep 0.02; done)");
}

struct Span {
  long long start = -1, end = -1;
};

std::map<std::string, Span> read_spans(const std::string& path) {
  std::map<std::string, Span> spans;
  for (const auto& line : read_lines(path)) {
    std::istringstream in(line);
    std::string label, what;
    long long when = 0;
    in >> label >> what >> when;
    (what == "start" ? spans[label].start : spans[label].end) = when;
  }
  return spans;
}

// Largest number of spans open at the same instant.
int max_overlap(const std::map<std::string, Span>& spans) {
  std::vector<std::pair<long long, int>> edges;
  for (const auto& [label, span] : spans) {
    edges.emplace_back(span.start, +1);
    edges.emplace_back(span.end, -1);
  }
  std::sort(edges.begin(), edges.end());  // an end sorts before a start at the same time
  int open = 0, most = 0;
  for (const auto& [when, delta] : edges) most = std::max(most, open += delta);
  return most;
}

}  // namespace

TEST_CASE("dispatcher: publish returns at once while hooks hang") {
  TempDir dir;
  auto config = make_config(2);
  config->events[EventKind::connect].push_back(
      command_hook("hang", {block_script(dir), dir.file("release")}));
  Outcomes outcomes;
  HookDispatcher dispatcher(config);

  const auto started = Clock::now();
  for (int i = 0; i < 50; ++i)
    dispatcher.publish(make_event(EventKind::connect, "s" + std::to_string(i)),
                       outcomes.expect(std::to_string(i)));
  const auto took = Clock::now() - started;
  CHECK(took < 200ms);
  CHECK(wait_until([&] { return dispatcher.stats().running == 2; }));
  CHECK(dispatcher.stats().queued == 48);
  CHECK(outcomes.size() == 0);

  std::ofstream(dir.file("release")) << "go\n";
  REQUIRE(outcomes.wait_for(50, 20'000ms));
  CHECK(outcomes.get("49").results.at(0).ok());
  CHECK(dispatcher.stats().events_published == 50);
  CHECK(dispatcher.stats().runs_started == 50);
}

TEST_CASE("dispatcher: shutdown waits for running hooks, later events are dropped") {
  TempDir dir;
  auto config = make_config();
  config->events[EventKind::connect].push_back(command_hook(
      "slow", {dir.script("slow.sh", "sleep 0.4; echo done > \"$1\""), dir.file("done")}));
  Outcomes outcomes;
  HookDispatcher dispatcher(config);
  dispatcher.publish(make_event(EventKind::connect, "s1"), outcomes.expect("first"));
  REQUIRE(wait_until([&] { return dispatcher.stats().running == 1; }));

  dispatcher.shutdown();
  CHECK(read_file(dir.file("done")) == "done\n");
  REQUIRE(outcomes.has("first"));
  CHECK(outcomes.get("first").results.at(0).ok());

  dispatcher.publish(make_event(EventKind::connect, "s2"), outcomes.expect("late"));
  REQUIRE(outcomes.has("late"));  // completed before publish() returned
  CHECK(outcomes.get("late").dropped);
  CHECK_FALSE(outcomes.get("late").results.at(0).ran);
  CHECK(dispatcher.stats().events_dropped == 1);
  dispatcher.shutdown();  // idempotent
}

TEST_CASE("dispatcher: max_concurrent_hooks bounds the processes running at once") {
  TempDir dir;
  auto config = make_config(2);
  config->events[EventKind::connect].push_back(
      command_hook("stamp", {stamp_script(dir), dir.file("spans"), "{session_id}", "0.3"}));
  Outcomes outcomes;
  HookDispatcher dispatcher(config);
  for (int i = 0; i < 6; ++i)
    dispatcher.publish(make_event(EventKind::connect, "s" + std::to_string(i)),
                       outcomes.expect(std::to_string(i)));
  REQUIRE(outcomes.wait_for(6));
  const auto spans = read_spans(dir.file("spans"));
  REQUIRE(spans.size() == 6);
  CHECK(max_overlap(spans) == 2);
}

TEST_CASE("dispatcher: a session's events run in order, other sessions in parallel") {
  TempDir dir;
  auto config = make_config(4);
  const auto stamp = stamp_script(dir);
  config->events[EventKind::connect].push_back(
      command_hook("slow", {stamp, dir.file("spans"), "{session_id}-connect", "0.5"}));
  config->events[EventKind::auth_success].push_back(
      command_hook("quick", {stamp, dir.file("spans"), "{session_id}-auth", "0"}));
  Outcomes outcomes;
  HookDispatcher dispatcher(config);
  dispatcher.publish(make_event(EventKind::connect, "A"), outcomes.expect("A1"));
  dispatcher.publish(make_event(EventKind::auth_success, "A"), outcomes.expect("A2"));
  dispatcher.publish(make_event(EventKind::connect, "B"), outcomes.expect("B1"));
  REQUIRE(outcomes.wait_for(3));

  const auto spans = read_spans(dir.file("spans"));
  REQUIRE(spans.size() == 3);
  CHECK(spans.at("A-auth").start >= spans.at("A-connect").end);  // strict order in session A
  CHECK(spans.at("B-connect").start < spans.at("A-connect").end);  // B did not wait for A
}

TEST_CASE("dispatcher: the handlers of one event run concurrently, results in config order") {
  TempDir dir;
  auto config = make_config(4);
  const auto stamp = stamp_script(dir);
  config->events[EventKind::connect].push_back(
      command_hook("one", {stamp, dir.file("spans"), "one", "0.4"}));
  config->events[EventKind::connect].push_back(
      command_hook("two", {stamp, dir.file("spans"), "two", "0.4"}));
  Outcomes outcomes;
  HookDispatcher dispatcher(config);
  dispatcher.publish(make_event(EventKind::connect, "s1"), outcomes.expect("e"));
  REQUIRE(outcomes.wait_for(1));
  const auto results = outcomes.get("e").results;
  REQUIRE(results.size() == 2);
  CHECK(results[0].name == "one");
  CHECK(results[1].name == "two");
  CHECK(max_overlap(read_spans(dir.file("spans"))) == 2);
}

TEST_CASE("dispatcher: terminate_on_next_event stops the previous event's handler") {
  TempDir dir;
  LogCapture log;
  auto config = make_config(4);
  auto watcher = command_hook("watch", {dir.script("watch.sh", "echo up > \"$1\"; exec sleep 30"),
                                        dir.file("up")});
  watcher.terminate_on_next_event = true;
  config->events[EventKind::connect].push_back(watcher);
  config->events[EventKind::disconnect].push_back(
      command_hook("bye", {dir.script("bye.sh", "echo bye")}));
  Outcomes outcomes;
  HookDispatcher dispatcher(config);
  dispatcher.publish(make_event(EventKind::connect, "s1"), outcomes.expect("connect"));
  REQUIRE(wait_until([&] { return fs::exists(dir.file("up")); }));

  const auto published = Clock::now();
  dispatcher.publish(make_event(EventKind::disconnect, "s1"), outcomes.expect("disconnect"));
  REQUIRE(outcomes.wait_for(2, 5000ms));
  CHECK(Clock::now() - published < 3s);
  const auto watched = outcomes.get("connect").results.at(0);
  CHECK(watched.signal == SIGTERM);
  CHECK_FALSE(watched.timed_out);
  CHECK(outcomes.get("disconnect").results.at(0).ok());
  CHECK(dispatcher.stats().runs_failed == 0);  // stopped on purpose, not a failure
  CHECK(log.contains("hook watch [session s1] terminating: the next event of the session arrived"));
}

TEST_CASE("dispatcher: a terminate_on_next_event handler not started yet is skipped") {
  TempDir dir;
  auto config = make_config(1);
  auto watcher = command_hook("watch", {dir.script("watch.sh", "echo ran >> \"$1\""), dir.file("ran")});
  watcher.terminate_on_next_event = true;
  config->events[EventKind::connect].push_back(watcher);
  config->events[EventKind::auth_failure].push_back(
      command_hook("hang", {block_script(dir), dir.file("release")}));
  Outcomes outcomes;
  HookDispatcher dispatcher(config);
  dispatcher.publish(make_event(EventKind::auth_failure, "other"), outcomes.expect("other"));
  REQUIRE(wait_until([&] { return dispatcher.stats().running == 1; }));
  dispatcher.publish(make_event(EventKind::connect, "s1"), outcomes.expect("connect"));
  dispatcher.publish(make_event(EventKind::disconnect, "s1"), outcomes.expect("disconnect"));
  std::ofstream(dir.file("release")) << "go\n";
  REQUIRE(outcomes.wait_for(3));
  CHECK_FALSE(outcomes.get("connect").results.at(0).ran);
  CHECK_FALSE(fs::exists(dir.file("ran")));
}

TEST_CASE("dispatcher: a full queue drops the event, completes it with dropped=true") {
  TempDir dir;
  LogCapture log;
  auto config = make_config(1);
  config->global.hook_queue_limit = 2;
  config->events[EventKind::connect].push_back(
      command_hook("hang", {block_script(dir), dir.file("release")}));
  Outcomes outcomes;
  HookDispatcher dispatcher(config);
  dispatcher.publish(make_event(EventKind::connect, "s1"), outcomes.expect("1"));
  REQUIRE(wait_until([&] { return dispatcher.stats().running == 1; }));
  dispatcher.publish(make_event(EventKind::connect, "s2"), outcomes.expect("2"));
  dispatcher.publish(make_event(EventKind::connect, "s3"), outcomes.expect("3"));
  CHECK(dispatcher.stats().queued == 2);
  dispatcher.publish(make_event(EventKind::connect, "s4"), outcomes.expect("4"));

  REQUIRE(outcomes.has("4"));
  CHECK(outcomes.get("4").dropped);
  REQUIRE(outcomes.get("4").results.size() == 1);
  CHECK(outcomes.get("4").results[0].name == "hang");
  CHECK_FALSE(outcomes.get("4").results[0].ran);
  CHECK(dispatcher.stats().events_dropped == 1);
  CHECK(log.contains("connect event of session s4 dropped: the hook queue is full"));

  std::ofstream(dir.file("release")) << "go\n";
  REQUIRE(outcomes.wait_for(4));
  for (const char* key : {"1", "2", "3"}) {
    CHECK_FALSE(outcomes.get(key).dropped);
    CHECK(outcomes.get(key).results.at(0).ok());
  }
}

TEST_CASE("dispatcher: a failing hook is retried up to `retries` times") {
  TempDir dir;
  LogCapture log;
  auto config = make_config();
  auto always = command_hook("always", {dir.script("fail.sh", "echo x >> \"$1\"; exit 1"),
                                        dir.file("always")});
  always.retries = 2;
  auto once = command_hook("once", {dir.script("flaky.sh", R"sh(echo x >> "$1"
[ "$(wc -l < "$1")" -ge 2 ])sh"),
                                    dir.file("once")});
  once.retries = 3;
  config->events[EventKind::connect] = {always, once};
  Outcomes outcomes;
  HookDispatcher dispatcher(config);
  dispatcher.publish(make_event(EventKind::connect, "s1"), outcomes.expect("e"));
  REQUIRE(outcomes.wait_for(1));

  const auto results = outcomes.get("e").results;
  CHECK(read_lines(dir.file("always")).size() == 3);
  CHECK(results.at(0).exit_code == 1);
  CHECK(read_lines(dir.file("once")).size() == 2);
  CHECK(results.at(1).ok());
  const auto stats = dispatcher.stats();
  CHECK(stats.runs_started == 5);
  CHECK(stats.runs_failed == 3 + 1);
  CHECK(log.contains("hook always [session s1] failed (exit code 1), retrying in 500 ms (attempt 3 of 3)"));
  CHECK(log.contains("hook once [session s1] attempt 2 of 4"));
}

TEST_CASE("dispatcher: timeouts and exec failures count as failed runs") {
  TempDir dir;
  LogCapture log;
  auto config = make_config();
  auto slow = command_hook("slow", {dir.script("slow.sh", "sleep 30")});
  slow.timeout = 100ms;
  config->events[EventKind::connect] = {slow, command_hook("missing", {dir.file("missing")})};
  Outcomes outcomes;
  HookDispatcher dispatcher(config);
  dispatcher.publish(make_event(EventKind::connect, "s1"), outcomes.expect("e"));
  REQUIRE(outcomes.wait_for(1));
  const auto results = outcomes.get("e").results;
  CHECK(results.at(0).timed_out);
  CHECK_FALSE(results.at(1).ran);
  const auto stats = dispatcher.stats();
  CHECK(stats.runs_failed == 2);
  CHECK(stats.runs_timed_out == 1);
  CHECK(log.contains("hook missing [session s1] cannot execute " + dir.file("missing") +
                     ": No such file or directory"));
}

TEST_CASE("dispatcher: set_config changes the handlers of new events only") {
  TempDir dir;
  const auto say = dir.script("say.sh", R"(sleep "$3"; echo "$2" >> "$1")");
  auto first = make_config();
  first->events[EventKind::connect].push_back(command_hook("old", {say, dir.file("out"), "old", "0.3"}));
  auto second = make_config();
  second->events[EventKind::connect].push_back(command_hook("new", {say, dir.file("out"), "new", "0"}));
  Outcomes outcomes;
  HookDispatcher dispatcher(first);
  dispatcher.publish(make_event(EventKind::connect, "s1"), outcomes.expect("1"));
  REQUIRE(wait_until([&] { return dispatcher.stats().running == 1; }));
  dispatcher.set_config(second);
  first.reset();  // the running event keeps its config alive
  dispatcher.publish(make_event(EventKind::connect, "s1"), outcomes.expect("2"));
  REQUIRE(outcomes.wait_for(2));
  CHECK(outcomes.get("1").results.at(0).name == "old");
  CHECK(outcomes.get("2").results.at(0).name == "new");
  CHECK(read_lines(dir.file("out")) == std::vector<std::string>{"old", "new"});
}

TEST_CASE("dispatcher: completions run outside its locks and may publish") {
  TempDir dir;
  auto config = make_config();
  config->events[EventKind::connect].push_back(command_hook("ok", {dir.script("ok.sh", "exit 0")}));
  HookDispatcher dispatcher(config);
  std::promise<EventOutcome> second;
  dispatcher.publish(make_event(EventKind::connect, "s1"), [&](const EventOutcome&) {
    (void)dispatcher.stats();
    dispatcher.publish(make_event(EventKind::connect, "s1"),
                       [&](const EventOutcome& outcome) { second.set_value(outcome); });
  });
  auto result = second.get_future();
  REQUIRE(result.wait_for(5s) == std::future_status::ready);
  CHECK(result.get().results.at(0).ok());
}

TEST_CASE("dispatcher: events without handlers complete, in order behind pending ones") {
  TempDir dir;
  auto config = make_config();
  config->events[EventKind::connect].push_back(
      command_hook("hang", {block_script(dir), dir.file("release")}));
  Outcomes outcomes;
  HookDispatcher dispatcher(config);
  dispatcher.publish(make_event(EventKind::auth_success, "idle"), outcomes.expect("idle"));
  CHECK(outcomes.has("idle"));  // nothing to wait for
  dispatcher.publish(make_event(EventKind::connect, "s1"), outcomes.expect("connect"));
  dispatcher.publish(make_event(EventKind::disconnect, "s1"), outcomes.expect("disconnect"));
  std::this_thread::sleep_for(100ms);
  CHECK_FALSE(outcomes.has("disconnect"));  // waits behind the session's connect
  std::ofstream(dir.file("release")) << "go\n";
  REQUIRE(outcomes.wait_for(3));
  CHECK(outcomes.get("disconnect").results.empty());
}
