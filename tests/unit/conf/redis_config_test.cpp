// Redis settings (conf/load_redis.cpp, conf/redis_url.cpp): `broker:` and
// `blocking: shared:`: URLs, failover lists, the password file, TLS, defaults.
#include <catch2/catch.hpp>

#include "conf/config_loader.hpp"
#include "conf/redis_url.hpp"
#include "conf_test_support.hpp"

using namespace vhm::conf;
using namespace vhm::conf::test;
using namespace std::chrono_literals;

namespace {

std::string url_error(std::string_view text) {
  std::string error;
  const auto url = parse_redis_url(text, error);
  return url ? "" : error;
}

LoadResult load_with(const TempDir& dir, const std::string& yaml) {
  return load_config_string(std::string(listener) + yaml, "f.yaml", dir.path());
}

bool has_problem(const LoadResult& result, std::string_view key, std::string_view text) {
  INFO(describe(result));
  for (const auto& problem : result.problems)
    if (problem.key == key && problem.message.find(text) != std::string::npos) return true;
  UNSCOPED_INFO(describe(result));
  return false;
}

}  // namespace

TEST_CASE("redis url: host, port, database, TLS, user") {
  std::string error;
  auto plain = parse_redis_url("redis://cache.example:6380/2", error);
  REQUIRE(plain);
  CHECK(plain->address.host == "cache.example");
  CHECK(plain->address.port == 6380);
  CHECK(plain->address.database == 2);
  CHECK_FALSE(plain->address.tls);
  CHECK(plain->user.empty());

  auto tls = parse_redis_url("rediss://vhm@[::1]", error);
  REQUIRE(tls);
  CHECK(tls->address.tls);
  CHECK(tls->address.host == "::1");
  CHECK(tls->address.port == 6379);
  CHECK(tls->user == "vhm");
  CHECK(describe(tls->address) == "[::1]:6379");
}

TEST_CASE("redis url: refusals say why and never quote the URL") {
  CHECK(url_error("http://x") == "a Redis address starts with redis:// or rediss:// (TLS)");
  CHECK(url_error("redis://user:hunter2@x").find("password_file") != std::string::npos);
  CHECK(url_error("redis://user:hunter2@x").find("hunter2") == std::string::npos);
  CHECK(url_error("redis://") == "the URL names no host");
  CHECK(url_error("redis://x:0").find("1 to 65535") != std::string::npos);
  CHECK(url_error("redis://x:65536").find("1 to 65535") != std::string::npos);
  CHECK(url_error("redis://x:").find("empty") != std::string::npos);
  CHECK(url_error("redis://::1:6379").find("brackets") != std::string::npos);
  CHECK(url_error("redis://[::1").find("]") != std::string::npos);
  CHECK(url_error("redis://[nothost]:1").find("IPv6") != std::string::npos);
  CHECK(url_error("redis://x/db").find("database number") != std::string::npos);
  CHECK(url_error("redis://x/0?timeout=1").find("no query") != std::string::npos);
  CHECK(url_error("redis://bad host").find("host name") != std::string::npos);
}

TEST_CASE("broker config: a URL alone takes the defaults") {
  TempDir dir;
  const auto config = require_ok(load_with(dir, "broker:\n  url: redis://127.0.0.1:6400\n"));
  REQUIRE(config.broker);
  const auto& broker = *config.broker;
  REQUIRE(broker.redis.addresses.size() == 1);
  CHECK(broker.redis.addresses[0].port == 6400);
  CHECK(broker.redis.password.empty());
  CHECK(broker.stream == "vnc-hooks-manager:events");
  CHECK(broker.max_len == 1'000'000);
  CHECK(broker.events.empty());
  CHECK(broker.spool_dir.is_absolute());
  CHECK(broker.spool_dir.filename() == "broker-spool");
  CHECK_FALSE(broker.host_name.empty());
  CHECK(broker.group == "vnc-hooks-manager");
  CHECK(broker.claim_idle == 60s);
  CHECK(broker.batch == 100);
  CHECK_FALSE(config.blocking);
}

TEST_CASE("broker config: every key, the password read from its file") {
  TempDir dir;
  dir.write("redis.pass", "s3cret-pass\n", 0600);
  dir.write("ca.pem", "not checked here\n", 0644);
  const auto config = require_ok(load_with(dir, R"(broker:
  urls: [rediss://vhm@10.0.0.1:6380/1, rediss://10.0.0.2]
  password_file: redis.pass
  tls: {ca_file: ca.pem}
  connect_timeout: 500ms
  command_timeout: 3s
  stream: site:events
  max_len: 5000
  events: [connect, disconnect]
  spool_dir: spool
  spool_max_size: 1MiB
  host_name: vnc-7
  group: hooks
  consumer: worker-a
  claim_idle: 30s
  batch: 50
)"));
  REQUIRE(config.broker);
  const auto& broker = *config.broker;
  REQUIRE(broker.redis.addresses.size() == 2);
  CHECK(broker.redis.addresses[0].database == 1);
  CHECK(broker.redis.addresses[1].host == "10.0.0.2");
  CHECK(broker.redis.user == "vhm");
  CHECK(broker.redis.password == "s3cret-pass");
  CHECK(broker.redis.ca_file == dir.path() / "ca.pem");
  CHECK(broker.redis.connect_timeout == 500ms);
  CHECK(broker.redis.command_timeout == 3s);
  CHECK(broker.stream == "site:events");
  CHECK(broker.max_len == 5000);
  CHECK(broker.events == std::vector<EventKind>{EventKind::connect, EventKind::disconnect});
  CHECK(broker.spool_dir == dir.path() / "spool");
  CHECK(broker.spool_max_bytes == 1u << 20);
  CHECK(broker.host_name == "vnc-7");
  CHECK(broker.group == "hooks");
  CHECK(broker.consumer == "worker-a");
  CHECK(broker.claim_idle == 30s);
  CHECK(broker.batch == 50);
}

TEST_CASE("broker config: refusals name the key") {
  TempDir dir;
  dir.write("open.pass", "pw\n", 0644);
  CHECK(has_problem(load_with(dir, "broker: {}\n"), "broker", "needs `url:`"));
  CHECK(has_problem(load_with(dir, "broker:\n  url: redis://a\n  urls: [redis://b]\n"), "broker.urls",
                    "either url or urls"));
  CHECK(has_problem(load_with(dir, "broker:\n  url: redis://a\n  password_file: open.pass\n"),
                    "broker.password_file", "chmod 600"));
  CHECK(has_problem(load_with(dir, "broker:\n  url: redis://a\n  password_file: missing.pass\n"),
                    "broker.password_file", "cannot read the password file"));
  CHECK(has_problem(load_with(dir, "broker:\n  url: redis://vhm@a\n"), "broker", "needs `password_file:`"));
  CHECK(has_problem(load_with(dir, "broker:\n  url: redis://a\n  tls: {insecure: true}\n"), "broker",
                    "rediss://"));
  CHECK(has_problem(load_with(dir, "broker:\n  url: redis://a\n  events: [nope]\n"), "broker.events[0]",
                    "unknown event"));
  CHECK(has_problem(load_with(dir, "broker:\n  url: redis://a\n  stream: 'has space'\n"), "broker.stream",
                    "spaces"));
  CHECK(has_problem(load_with(dir, "broker:\n  url: redis://a\n  spool_max_size: 1KiB\n"), "broker.spool_max_size",
                    "64KiB"));
  CHECK(has_problem(load_with(dir, "broker:\n  url: redis://a\n  command_timeout: 0s\n"),
                    "broker.command_timeout", "greater than 0"));
  CHECK(has_problem(load_with(dir, "broker:\n  url: redis://a\n  colour: red\n"), "broker.colour", "unknown key"));
  const auto disabled = require_ok(load_with(dir, "broker:\n  enabled: false\n  url: redis://a\n"));
  CHECK_FALSE(disabled.broker);
}

TEST_CASE("blocking config: shared bans on Redis, as a URL or a map") {
  TempDir dir;
  dir.write("redis.pass", "pw\n", 0600);
  const auto short_form = require_ok(load_with(dir, "blocking:\n  shared: redis://127.0.0.1:6401/4\n"));
  REQUIRE(short_form.blocking);
  REQUIRE(short_form.blocking->shared);
  CHECK(short_form.blocking->shared->addresses.at(0).database == 4);

  const auto long_form = require_ok(
      load_with(dir, "blocking:\n  shared:\n    url: redis://127.0.0.1\n    password_file: redis.pass\n"));
  REQUIRE(long_form.blocking->shared);
  CHECK(long_form.blocking->shared->password == "pw");

  const auto local = require_ok(load_with(dir, "blocking: {}\n"));
  CHECK_FALSE(local.blocking->shared);
  CHECK(has_problem(load_with(dir, "blocking:\n  shared: http://x\n"), "blocking.shared", "redis://"));
}
