// broker/stream_publisher.hpp against a real redis-server: events arrive in
// the stream in order with the contract's fields; while Redis is down they
// wait in the spool and arrive once, in order, when it is back; a shutdown
// with Redis down leaves them for the next start.
#include <catch2/catch.hpp>

#include <stdlib.h>

#include <exception>
#include <filesystem>
#include <optional>
#include <thread>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include "broker/redis_client.hpp"
#include "broker/stream_publisher.hpp"
#include "redis_server_process.hpp"

namespace {

namespace asio = boost::asio;
using vhm::broker::RedisClient;
using vhm::broker::RedisReply;
using vhm::broker::StreamPublisher;
using vhm::broker::test::RedisServerProcess;

struct PublisherDir {
  std::filesystem::path path;
  PublisherDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "vhm-publisher-XXXXXX").string();
    path = ::mkdtemp(pattern.data());
  }
  ~PublisherDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
};

vhm::conf::BrokerConfig publisher_config(std::uint16_t port, const std::filesystem::path& dir) {
  vhm::conf::BrokerConfig config;
  config.redis.addresses.push_back({"127.0.0.1", port, false, 0});
  config.redis.connect_timeout = std::chrono::milliseconds(500);
  config.redis.command_timeout = std::chrono::milliseconds(1000);
  config.stream = "test:events";
  config.spool_dir = dir / "spool";
  config.host_name = "proxy-a";
  return config;
}

vhm::hooks::Event numbered_event(int n, vhm::conf::EventKind kind = vhm::conf::EventKind::connect) {
  vhm::hooks::Event event;
  event.kind = kind;
  event[vhm::conf::Field::event] = std::string(vhm::conf::to_string(kind));
  event[vhm::conf::Field::session_id] = "s" + std::to_string(n);
  event[vhm::conf::Field::reason] = "line\nbreak " + std::to_string(n);
  return event;
}

// The stream's entries as {field: value} maps, in order.
std::vector<std::map<std::string, std::string>> stream_entries(std::uint16_t port) {
  asio::io_context io;
  vhm::conf::RedisConfig config;
  config.addresses.push_back({"127.0.0.1", port, false, 0});
  RedisClient client(io.get_executor(), config, "test");
  boost::system::error_code ec;
  std::optional<RedisReply> reply;
  std::exception_ptr failure;
  asio::co_spawn(io, client.command({"XRANGE", "test:events", "-", "+"}, ec),
                 [&](std::exception_ptr error, RedisReply value) {
                   failure = error;
                   reply = std::move(value);
                 });
  io.run();
  if (failure) std::rethrow_exception(failure);
  std::vector<std::map<std::string, std::string>> out;
  if (ec || !reply) return out;
  for (const auto& entry : reply->elements) {
    std::map<std::string, std::string> fields;
    const auto& list = entry.elements.at(1).elements;
    for (std::size_t i = 0; i + 1 < list.size(); i += 2) fields[list[i].text] = list[i + 1].text;
    out.push_back(std::move(fields));
  }
  return out;
}

bool wait_for_entries(std::uint16_t port, std::size_t count, std::chrono::seconds bound = std::chrono::seconds(10)) {
  const auto deadline = std::chrono::steady_clock::now() + bound;
  while (std::chrono::steady_clock::now() < deadline) {
    if (stream_entries(port).size() >= count) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

std::vector<std::string> session_ids(const std::vector<std::map<std::string, std::string>>& entries) {
  std::vector<std::string> out;
  for (const auto& entry : entries) out.push_back(entry.at("session_id"));
  return out;
}

std::vector<std::string> expected_ids(int from, int to) {
  std::vector<std::string> out;
  for (int i = from; i < to; ++i) out.push_back("s" + std::to_string(i));
  return out;
}

}  // namespace

TEST_CASE("stream publisher: events arrive in order with kind, session id, host and JSON") {
  RedisServerProcess server;
  PublisherDir dir;
  auto config = publisher_config(server.port(), dir.path);
  config.events = {vhm::conf::EventKind::connect, vhm::conf::EventKind::disconnect};
  StreamPublisher publisher(config);
  std::string error;
  REQUIRE(publisher.start(error));
  bool done_called = false;
  publisher.publish(numbered_event(0), [&](const vhm::hooks::EventOutcome&) { done_called = true; });
  CHECK(done_called);
  publisher.publish(numbered_event(99, vhm::conf::EventKind::auth_success));  // not in `events`
  for (int i = 1; i < 50; ++i) publisher.publish(numbered_event(i, i == 49 ? vhm::conf::EventKind::disconnect
                                                                          : vhm::conf::EventKind::connect));
  REQUIRE(wait_for_entries(server.port(), 50));
  const auto entries = stream_entries(server.port());
  CHECK(session_ids(entries) == expected_ids(0, 50));
  CHECK(entries[0].at("event") == "connect");
  CHECK(entries[49].at("event") == "disconnect");
  CHECK(entries[3].at("host") == "proxy-a");
  CHECK(entries[3].at("json").find(R"("session_id":"s3")") != std::string::npos);
  CHECK(entries[3].at("json").find(R"("reason":"line\nbreak 3")") != std::string::npos);
  CHECK(publisher.shutdown(std::chrono::seconds(2)) == 0);
  const auto stats = publisher.stats();
  CHECK(stats.sent == 50);
  CHECK(stats.spooled_events == 0);
  CHECK(stats.dropped == 0);
}

TEST_CASE("stream publisher: while Redis is down events are spooled; each arrives once, in order, when it is back") {
  RedisServerProcess server;
  PublisherDir dir;
  StreamPublisher publisher(publisher_config(server.port(), dir.path));
  std::string error;
  REQUIRE(publisher.start(error));
  publisher.publish(numbered_event(0));
  REQUIRE(wait_for_entries(server.port(), 1));
  server.kill();  // without persistence: the stream starts empty again
  for (int i = 1; i <= 30; ++i) publisher.publish(numbered_event(i));
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while ((publisher.stats().spooled_events < 30 || publisher.stats().up) && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  CHECK(publisher.stats().spooled_events == 30);
  CHECK_FALSE(publisher.stats().up);
  CHECK(publisher.stats().oldest_age_seconds >= 0);
  server.start();
  REQUIRE(wait_for_entries(server.port(), 30));
  CHECK(session_ids(stream_entries(server.port())) == expected_ids(1, 31));
  CHECK(publisher.shutdown(std::chrono::seconds(2)) == 0);
  CHECK(publisher.stats().sent == 31);
}

TEST_CASE("stream publisher: a shutdown with Redis down keeps the events for the next start") {
  PublisherDir dir;
  const auto port = RedisServerProcess::free_port();
  {
    StreamPublisher publisher(publisher_config(port, dir.path));
    std::string error;
    REQUIRE(publisher.start(error));
    for (int i = 0; i < 20; ++i) publisher.publish(numbered_event(i));
    const auto started = std::chrono::steady_clock::now();
    CHECK(publisher.shutdown(std::chrono::milliseconds(300)) == 20);
    CHECK(std::chrono::steady_clock::now() - started < std::chrono::seconds(3));
  }
  RedisServerProcess server;  // the port is another: point the next run at it
  StreamPublisher publisher(publisher_config(server.port(), dir.path));
  std::string error;
  REQUIRE(publisher.start(error));
  CHECK(publisher.stats().spooled_events == 20);
  publisher.publish(numbered_event(20));
  REQUIRE(wait_for_entries(server.port(), 21));
  CHECK(session_ids(stream_entries(server.port())) == expected_ids(0, 21));
  CHECK(publisher.shutdown(std::chrono::seconds(2)) == 0);
}

// Not run by default (hidden tag): `unit_broker_net "[.publisher-bench]"`.
// 5,000 events/s for 4 s through the spool to Redis; the delay of each is the
// stream entry's id (Redis's clock, ms) minus the publish time (ms).
TEST_CASE("stream publisher: throughput and delay at 5,000 events/s", "[.publisher-bench]") {
  RedisServerProcess server;
  PublisherDir dir;
  StreamPublisher publisher(publisher_config(server.port(), dir.path));
  std::string error;
  REQUIRE(publisher.start(error));
  constexpr int rate = 5000, seconds = 4, total = rate * seconds;
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < total; ++i) {
    std::this_thread::sleep_until(start + std::chrono::microseconds(i * 1'000'000LL / rate));
    auto event = numbered_event(i);
    event[vhm::conf::Field::timestamp] =
        std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(
                           std::chrono::system_clock::now().time_since_epoch())
                           .count());
    publisher.publish(std::move(event));
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (publisher.stats().sent < static_cast<std::uint64_t>(total) && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  REQUIRE(publisher.stats().sent == static_cast<std::uint64_t>(total));
  // Delays from the entries' ids.
  asio::io_context io;
  vhm::conf::RedisConfig redis;
  redis.addresses.push_back({"127.0.0.1", server.port(), false, 0});
  RedisClient client(io.get_executor(), redis, "bench");
  boost::system::error_code ec;
  std::optional<RedisReply> reply;
  asio::co_spawn(io, client.command({"XRANGE", "test:events", "-", "+"}, ec),
                 [&](std::exception_ptr, RedisReply value) { reply = std::move(value); });
  io.run();
  REQUIRE(reply);
  std::vector<long long> delays;
  for (const auto& entry : reply->elements) {
    const auto id_ms = std::stoll(entry.elements.at(0).text);
    const auto& json = entry.elements.at(1).elements.at(7).text;
    const auto at = json.find("\"timestamp\":\"") + 13;
    delays.push_back(id_ms - std::stoll(json.substr(at)));
  }
  std::sort(delays.begin(), delays.end());
  const auto pick = [&](double q) { return delays[static_cast<std::size_t>(q * (delays.size() - 1))]; };
  WARN("events " << delays.size() << " in " << elapsed << " s; delay ms p50 " << pick(0.5) << " p99 " << pick(0.99)
                 << " max " << delays.back());
  publisher.shutdown(std::chrono::seconds(2));
}
