// broker/stream_worker.hpp against a real redis-server, with a hook sink that
// holds each event's completion until the test releases it: at most
// in_flight_limit entries reach the hooks before earlier ones finish, each is
// acknowledged only after its completion, malformed entries are acknowledged
// without hooks, an event the hooks dropped stays pending, and entries left
// pending by a dead consumer are claimed after claim_idle.
#include <catch2/catch.hpp>

#include <deque>
#include <exception>
#include <future>
#include <mutex>
#include <optional>
#include <thread>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

#include "broker/redis_client.hpp"
#include "broker/stream_worker.hpp"
#include "hooks/event_json.hpp"
#include "redis_server_process.hpp"

namespace {

namespace asio = boost::asio;
using vhm::broker::RedisClient;
using vhm::broker::RedisReply;
using vhm::broker::StreamWorker;
using vhm::broker::test::RedisServerProcess;

constexpr const char* worker_test_stream = "test:worker";
constexpr const char* worker_test_group = "hooks";

// One command on a connection of its own; throws when Redis cannot be reached.
RedisReply worker_redis(std::uint16_t port, vhm::broker::Command command) {
  asio::io_context io;
  vhm::conf::RedisConfig config;
  config.addresses.push_back({"127.0.0.1", port, false, 0});
  RedisClient client(io.get_executor(), config, "test");
  boost::system::error_code ec;
  RedisReply reply;
  std::exception_ptr failure;
  asio::co_spawn(io, client.command(std::move(command), ec), [&](std::exception_ptr error, RedisReply value) {
    failure = error;
    reply = std::move(value);
  });
  io.run();
  if (failure) std::rethrow_exception(failure);
  if (ec) throw std::runtime_error(client.last_error());
  return reply;
}

std::string worker_event_json(const std::string& session, vhm::conf::EventKind kind = vhm::conf::EventKind::connect) {
  vhm::hooks::Event event;
  event.kind = kind;
  event[vhm::conf::Field::session_id] = session;
  event[vhm::conf::Field::client_ip] = "192.0.2.7";
  return vhm::hooks::event_to_json(event);
}

void worker_xadd(std::uint16_t port, const std::vector<std::string>& fields) {
  vhm::broker::Command command{"XADD", worker_test_stream, "*"};
  command.insert(command.end(), fields.begin(), fields.end());
  REQUIRE_FALSE(worker_redis(port, command).is_error());
}

long long worker_pending(std::uint16_t port) {
  const auto reply = worker_redis(port, {"XPENDING", worker_test_stream, worker_test_group});
  return reply.elements.empty() ? -1 : reply.elements[0].integer;
}

template <typename Predicate>
bool worker_wait(Predicate predicate, std::chrono::milliseconds bound = std::chrono::seconds(10)) {
  const auto deadline = std::chrono::steady_clock::now() + bound;
  while (std::chrono::steady_clock::now() < deadline) {
    if (predicate()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return predicate();
}

// Hooks that finish when the test says so.
class HeldHooks final : public vhm::hooks::EventSink {
 public:
  void publish(vhm::hooks::Event event, vhm::hooks::EventCompletion done) override {
    std::lock_guard lock(mutex_);
    events_.push_back(std::move(event));
    held_.push_back(std::move(done));
  }
  std::size_t published() const {
    std::lock_guard lock(mutex_);
    return events_.size();
  }
  std::vector<vhm::hooks::Event> events() const {
    std::lock_guard lock(mutex_);
    return events_;
  }
  // Completes every held event (as dropped when asked); returns how many.
  std::size_t release(bool dropped = false) {
    std::deque<vhm::hooks::EventCompletion> taken;
    {
      std::lock_guard lock(mutex_);
      taken.swap(held_);
    }
    vhm::hooks::EventOutcome outcome;
    outcome.dropped = dropped;
    for (auto& done : taken) done(outcome);
    return taken.size();
  }

 private:
  mutable std::mutex mutex_;
  std::vector<vhm::hooks::Event> events_;
  std::deque<vhm::hooks::EventCompletion> held_;
};

// A StreamWorker running on a thread of its own.
class RunningWorker {
 public:
  RunningWorker(std::uint16_t port, HeldHooks& hooks, std::size_t in_flight_limit,
                std::chrono::milliseconds claim_idle = std::chrono::seconds(60)) {
    vhm::conf::BrokerConfig config;
    config.redis.addresses.push_back({"127.0.0.1", port, false, 0});
    config.redis.connect_timeout = std::chrono::milliseconds(500);
    config.redis.command_timeout = std::chrono::milliseconds(2000);
    config.stream = worker_test_stream;
    config.group = worker_test_group;
    config.consumer = "test-worker";
    config.claim_idle = claim_idle;
    vhm::broker::StreamWorkerOptions options;
    options.block = std::chrono::milliseconds(100);
    options.in_flight_limit = in_flight_limit;
    worker_.emplace(io_.get_executor(), config, hooks, options);
    asio::co_spawn(io_, worker_->run(), [this](std::exception_ptr failure, bool drained) {
      failure_ = failure;
      drained_ = drained;
    });
    thread_ = std::thread([this] { io_.run(); });
  }
  ~RunningWorker() { stop(); }

  vhm::broker::WorkerStats stats() {
    std::promise<vhm::broker::WorkerStats> result;
    asio::post(io_, [&] { result.set_value(worker_->stats()); });
    return result.get_future().get();
  }
  // Stops and joins; true when the worker left nothing running.
  bool stop() {
    if (!thread_.joinable()) return drained_;
    asio::post(io_, [this] { worker_->stop(std::chrono::seconds(5)); });
    thread_.join();
    if (failure_) std::rethrow_exception(failure_);
    return drained_;
  }

 private:
  asio::io_context io_{1};
  std::optional<StreamWorker> worker_;
  std::thread thread_;
  std::exception_ptr failure_;
  bool drained_ = false;
};

}  // namespace

TEST_CASE("stream worker: at most in_flight_limit entries reach the hooks; each is acked after its hooks") {
  RedisServerProcess server;
  for (int i = 0; i < 10; ++i) worker_xadd(server.port(), {"json", worker_event_json("s" + std::to_string(i))});
  HeldHooks hooks;
  RunningWorker worker(server.port(), hooks, 3);
  REQUIRE(worker_wait([&] { return hooks.published() == 3; }));
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // several XREADGROUP blocks
  CHECK(hooks.published() == 3);
  CHECK(worker_pending(server.port()) == 3);  // read, not acknowledged before the hooks finished
  CHECK(worker.stats().in_flight == 3);

  REQUIRE(worker_wait([&] {
    hooks.release();
    return hooks.published() == 10 && worker_pending(server.port()) == 0 && worker.stats().acked == 10;
  }));
  const auto events = hooks.events();
  for (int i = 0; i < 10; ++i) {  // in stream order, rebuilt from the JSON
    CHECK(events[i].session_id() == "s" + std::to_string(i));
    CHECK(events[i][vhm::conf::Field::client_ip] == "192.0.2.7");
    CHECK(events[i][vhm::conf::Field::event] == "connect");
  }
  const auto stats = worker.stats();
  CHECK(stats.read == 10);
  CHECK(stats.finished == 10);
  CHECK(stats.acked == 10);
  CHECK(worker.stop());
}

TEST_CASE("stream worker: malformed entries are acked without hooks; an event the hooks dropped stays pending") {
  RedisServerProcess server;
  worker_xadd(server.port(), {"event", "connect", "host", "h"});             // no json
  worker_xadd(server.port(), {"json", "{\"event\":\"reboot\"}"});            // unknown kind
  worker_xadd(server.port(), {"json", "not json at all"});
  worker_xadd(server.port(), {"json", worker_event_json("kept")});
  HeldHooks hooks;
  RunningWorker worker(server.port(), hooks, 10);
  REQUIRE(worker_wait([&] { return hooks.published() == 1; }));
  CHECK(hooks.release(true) == 1);  // the queue was full: not acknowledged
  REQUIRE(worker_wait([&] { return worker.stats().requeued == 1 && worker.stats().acked == 3; }));
  const auto stats = worker.stats();
  CHECK(stats.malformed == 3);
  CHECK(stats.read == 4);
  CHECK(worker_pending(server.port()) == 1);
  CHECK(worker.stop());
}

TEST_CASE("stream worker: entries a dead consumer left pending are claimed after claim_idle and run") {
  RedisServerProcess server;
  REQUIRE_FALSE(worker_redis(server.port(), {"XGROUP", "CREATE", worker_test_stream, worker_test_group, "0", "MKSTREAM"})
                    .is_error());
  for (int i = 0; i < 4; ++i) worker_xadd(server.port(), {"json", worker_event_json("d" + std::to_string(i))});
  // A consumer that reads and dies.
  const auto taken = worker_redis(server.port(), {"XREADGROUP", "GROUP", worker_test_group, "dead", "COUNT", "10",
                                                  "STREAMS", worker_test_stream, ">"});
  REQUIRE(taken.elements.size() == 1);
  REQUIRE(worker_pending(server.port()) == 4);
  HeldHooks hooks;
  const auto started = std::chrono::steady_clock::now();
  RunningWorker worker(server.port(), hooks, 10, std::chrono::milliseconds(400));
  REQUIRE(worker_wait([&] { return hooks.published() == 4; }));
  CHECK(std::chrono::steady_clock::now() - started >= std::chrono::milliseconds(300));
  hooks.release();
  // Redis answers XACK before the worker counts it: wait for both.
  REQUIRE(worker_wait([&] { return worker_pending(server.port()) == 0 && worker.stats().acked == 4; }));
  const auto stats = worker.stats();
  CHECK(stats.claimed == 4);
  CHECK(stats.read == 0);
  CHECK(stats.acked == 4);
  CHECK(worker.stop());
}
