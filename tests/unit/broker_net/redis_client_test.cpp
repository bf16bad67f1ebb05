// broker/redis_client.hpp against a real redis-server on loopback: pipelining,
// error replies, AUTH, failover, reconnecting, timeouts, SELECT, TLS, pub/sub.
#include <catch2/catch.hpp>

#include <exception>
#include <optional>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include "broker/redis_client.hpp"
#include "redis_server_process.hpp"
#include "tests/unit/tls/test_pki.hpp"

namespace {

namespace asio = boost::asio;
using vhm::broker::Command;
using vhm::broker::RedisClient;
using vhm::broker::RedisReply;
using vhm::broker::test::RedisServerProcess;
using boost::system::error_code;

template <typename T>
T run(asio::io_context& io, asio::awaitable<T> task) {
  std::optional<T> result;
  std::exception_ptr failure;
  asio::co_spawn(io, std::move(task), [&](std::exception_ptr error, T value) {
    failure = error;
    result = std::move(value);
  });
  io.restart();
  io.run();
  if (failure) std::rethrow_exception(failure);
  return std::move(*result);
}

vhm::conf::RedisConfig config_for(std::uint16_t port) {
  vhm::conf::RedisConfig config;
  config.addresses.push_back({"127.0.0.1", port, false, 0});
  config.connect_timeout = std::chrono::milliseconds(1000);
  config.command_timeout = std::chrono::milliseconds(1000);
  return config;
}

RedisReply call(asio::io_context& io, RedisClient& client, Command command, error_code& ec) {
  return run(io, client.command(std::move(command), ec));
}

}  // namespace

TEST_CASE("redis client: any bytes in arguments, pipelined replies in order") {
  RedisServerProcess server;
  asio::io_context io;
  RedisClient client(io.get_executor(), config_for(server.port()), "test");
  error_code ec;
  const std::string value("a\r\n\0b$*\r\n", 9);
  auto replies = run(io, client.pipeline({{"SET", "key", value}, {"GET", "key"}, {"INCR", "n"}, {"INCR", "n"},
                                          {"GET", "missing"}},
                                         ec));
  REQUIRE_FALSE(ec);
  REQUIRE(replies.size() == 5);
  CHECK(replies[0].as_text() == "OK");
  CHECK(replies[1].text == value);
  CHECK(replies[2].integer == 1);
  CHECK(replies[3].integer == 2);
  CHECK(replies[4].is_nil());
  CHECK(client.connected());
  CHECK(client.address() == "127.0.0.1:" + std::to_string(server.port()));
}

TEST_CASE("redis client: an error reply is a reply, not a failed connection") {
  RedisServerProcess server;
  asio::io_context io;
  RedisClient client(io.get_executor(), config_for(server.port()), "test");
  error_code ec;
  auto first = call(io, client, {"XGROUP", "CREATE", "s", "g", "$", "MKSTREAM"}, ec);
  REQUIRE_FALSE(ec);
  CHECK(first.as_text() == "OK");
  auto again = call(io, client, {"XGROUP", "CREATE", "s", "g", "$", "MKSTREAM"}, ec);
  REQUIRE_FALSE(ec);
  CHECK(again.is_error());
  CHECK(again.text.starts_with("BUSYGROUP"));
  CHECK(client.connected());
}

TEST_CASE("redis client: AUTH with the configured password; a wrong one fails without echoing it") {
  RedisServerProcess server({"--requirepass", "right-password-123"});
  asio::io_context io;
  auto config = config_for(server.port());
  config.password = "right-password-123";
  RedisClient good(io.get_executor(), config, "test");
  error_code ec;
  CHECK(call(io, good, {"PING"}, ec).as_text() == "PONG");
  CHECK_FALSE(ec);

  config.password = "wrong-password-456";
  RedisClient bad(io.get_executor(), config, "test");
  call(io, bad, {"PING"}, ec);
  CHECK(ec == asio::error::access_denied);
  CHECK_FALSE(bad.connected());
  CHECK(bad.last_error().find("WRONGPASS") != std::string::npos);
  CHECK(bad.last_error().find("wrong-password-456") == std::string::npos);

  config.password.clear();
  RedisClient none(io.get_executor(), config, "test");
  const auto reply = call(io, none, {"PING"}, ec);
  CHECK(ec == asio::error::access_denied);
  CHECK(none.last_error().find("NOAUTH") != std::string::npos);
  (void)reply;
}

TEST_CASE("redis client: fails over to the next address and reconnects after a restart") {
  RedisServerProcess server;
  asio::io_context io;
  auto config = config_for(server.port());
  config.addresses.insert(config.addresses.begin(), {"127.0.0.1", RedisServerProcess::free_port(), false, 0});
  RedisClient client(io.get_executor(), config, "test");
  error_code ec;
  CHECK(call(io, client, {"SET", "k", "v"}, ec).as_text() == "OK");
  REQUIRE_FALSE(ec);
  CHECK(client.address() == "127.0.0.1:" + std::to_string(server.port()));

  server.kill();
  call(io, client, {"GET", "k"}, ec);
  CHECK(ec);
  CHECK_FALSE(client.connected());
  CHECK_FALSE(client.last_error().empty());
  call(io, client, {"GET", "k"}, ec);
  CHECK(ec);  // both addresses down
  CHECK(client.last_error().find("cannot connect") != std::string::npos);

  server.start();
  CHECK(call(io, client, {"PING"}, ec).as_text() == "PONG");
  CHECK_FALSE(ec);
}

TEST_CASE("redis client: a server that never answers times out") {
  asio::io_context io;
  asio::ip::tcp::acceptor silent(io, {asio::ip::make_address("127.0.0.1"), 0});
  asio::ip::tcp::socket accepted(io);
  silent.async_accept(accepted, [](error_code) {});
  auto config = config_for(silent.local_endpoint().port());
  config.command_timeout = std::chrono::milliseconds(200);
  RedisClient client(io.get_executor(), config, "test");
  error_code ec;
  const auto started = std::chrono::steady_clock::now();
  call(io, client, {"PING"}, ec);
  CHECK(ec);
  CHECK(client.last_error().find("timed out") != std::string::npos);
  CHECK(std::chrono::steady_clock::now() - started < std::chrono::seconds(5));
}

TEST_CASE("redis client: the URL's database is selected") {
  RedisServerProcess server;
  asio::io_context io;
  auto config = config_for(server.port());
  config.addresses[0].database = 3;
  RedisClient three(io.get_executor(), config, "test");
  RedisClient zero(io.get_executor(), config_for(server.port()), "test");
  error_code ec;
  call(io, three, {"SET", "where", "three"}, ec);
  CHECK(call(io, three, {"GET", "where"}, ec).text == "three");
  CHECK(call(io, zero, {"GET", "where"}, ec).is_nil());
  CHECK_FALSE(ec);
}

TEST_CASE("redis client: rediss:// checks the server's certificate against ca_file") {
  vhm::tls::test::TestPki pki;
  const auto tls_port = RedisServerProcess::free_port();
  RedisServerProcess server({"--tls-port", std::to_string(tls_port), "--tls-cert-file", pki.server_cert.string(),
                             "--tls-key-file", pki.server_key.string(), "--tls-ca-cert-file", pki.ca_cert.string(),
                             "--tls-auth-clients", "no"});
  asio::io_context io;
  auto config = config_for(tls_port);
  config.addresses[0].tls = true;
  config.ca_file = pki.ca_cert;
  RedisClient trusted(io.get_executor(), config, "test");
  error_code ec;
  CHECK(call(io, trusted, {"PING"}, ec).as_text() == "PONG");
  CHECK_FALSE(ec);

  config.ca_file = pki.other_ca_cert;
  RedisClient untrusted(io.get_executor(), config, "test");
  call(io, untrusted, {"PING"}, ec);
  CHECK(ec);
  CHECK(untrusted.last_error().find("TLS handshake") != std::string::npos);
  CHECK(untrusted.last_error().find("certificate") != std::string::npos);
}

TEST_CASE("redis client: messages pushed after SUBSCRIBE") {
  RedisServerProcess server;
  asio::io_context io;
  RedisClient subscriber(io.get_executor(), config_for(server.port()), "test");
  RedisClient publisher(io.get_executor(), config_for(server.port()), "test");
  error_code ec;
  const auto subscribed = call(io, subscriber, {"SUBSCRIBE", "news"}, ec);
  REQUIRE_FALSE(ec);
  REQUIRE(subscribed.elements.size() == 3);
  CHECK(subscribed.elements[0].text == "subscribe");
  CHECK(call(io, publisher, {"PUBLISH", "news", "hello"}, ec).integer == 1);
  const auto pushed = run(io, subscriber.next_push(ec));
  REQUIRE_FALSE(ec);
  REQUIRE(pushed.elements.size() == 3);
  CHECK(pushed.elements[0].text == "message");
  CHECK(pushed.elements[2].text == "hello");
}
