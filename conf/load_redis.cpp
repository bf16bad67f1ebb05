// Redis settings (docs/fleet.md): `broker:` (the event stream and its workers)
// and `blocking: shared:` (bans shared by every proxy). The password is read
// here, at load, so --check-config sees what the running proxy will use.
#include <unistd.h>

#include <algorithm>
#include <cstdlib>

#include "conf/config_sections.hpp"
#include "conf/duration.hpp"
#include "conf/redis_url.hpp"
#include "conf/secret_file.hpp"
#include "conf/size.hpp"

namespace vhm::conf {
namespace {

constexpr std::chrono::milliseconds max_redis_timeout{std::chrono::minutes(5)};
// Enough for any Sentinel-less failover list a person writes.
constexpr std::size_t max_redis_addresses = 16;
// Redis keys are binary-safe; ours are typed by people, so keep them readable.
constexpr std::size_t max_name_length = 200;

void add_url(const Entry& entry, RedisConfig& redis, ProblemList& problems) {
  const auto text = read_nonempty_string(entry, problems);
  if (!text) return;
  std::string error;
  auto url = parse_redis_url(*text, error);
  if (!url) {
    problems.add(entry.line, entry.key, error);
    return;
  }
  if (!url->user.empty()) {
    if (!redis.user.empty() && redis.user != url->user)
      problems.add(entry.line, entry.key, "every address must name the same user (or put it in `user:`)");
    redis.user = url->user;
  }
  redis.addresses.push_back(url->address);
}

std::optional<std::chrono::milliseconds> read_redis_timeout(const Entry& entry, ProblemList& problems) {
  const auto value = read_duration(entry, problems);
  if (!value) return std::nullopt;
  if (value->count() <= 0 || *value > max_redis_timeout) {
    problems.add(entry.line, entry.key, "must be more than 0 and at most " + format_duration(max_redis_timeout));
    return std::nullopt;
  }
  return value;
}

void load_redis_tls(const Entry& entry, const std::filesystem::path& base_dir, RedisConfig& redis,
                    ProblemList& problems) {
  MapReader map(entry, problems);
  if (!map.ok()) return;
  const auto path = [&](const char* key, std::filesystem::path& out) {
    if (auto item = map.take(key))
      if (auto text = read_nonempty_string(*item, problems)) {
        out = resolve_config_path(*text, base_dir);
        std::error_code ec;
        if (!std::filesystem::is_regular_file(out, ec))
          problems.add(item->line, item->key, "no such file: " + quote_value(out.string()));
      }
  };
  path("ca_file", redis.ca_file);
  path("cert", redis.cert_file);
  path("key", redis.key_file);
  if (auto item = map.take("insecure"))
    if (auto value = read_bool(*item, problems)) redis.insecure = *value;
  if (redis.cert_file.empty() != redis.key_file.empty())
    problems.add(entry.line, entry.key, "a client certificate needs both `cert` and `key`");
  map.finish();
}

std::optional<std::string> read_name(const Entry& entry, ProblemList& problems) {
  auto text = read_nonempty_string(entry, problems);
  if (!text) return std::nullopt;
  if (text->size() > max_name_length) {
    problems.add(entry.line, entry.key, "longer than " + std::to_string(max_name_length) + " characters");
    return std::nullopt;
  }
  for (const unsigned char c : *text)
    if (c <= 0x20 || c == 0x7f) {
      problems.add(entry.line, entry.key, "must not contain spaces or control characters");
      return std::nullopt;
    }
  return text;
}

}  // namespace

std::optional<RedisConfig> load_redis_keys(MapReader& map, const std::filesystem::path& base_dir,
                                           ProblemList& problems) {
  const std::size_t before = problems.size();
  RedisConfig redis;
  redis.line = map.self().line;
  const auto url = map.take("url");
  const auto urls = map.take("urls");
  if (url) add_url(*url, redis, problems);
  if (urls)
    for (const auto& item : read_list(*urls, problems, "Redis URLs")) add_url(item, redis, problems);
  if (!url && !urls)
    problems.add(map.self().line, map.self().key, "needs `url:` (redis://host:port) or `urls:` (a failover list)");
  if (url && urls) problems.add(urls->line, urls->key, "give either url or urls, not both");
  if (redis.addresses.size() > max_redis_addresses)
    problems.add(urls->line, urls->key, "at most " + std::to_string(max_redis_addresses) + " addresses");
  if (auto item = map.take("user"))
    if (auto text = read_name(*item, problems)) {
      if (!redis.user.empty() && redis.user != *text)
        problems.add(item->line, item->key, "differs from the user in the URL");
      redis.user = *text;
    }
  if (auto item = map.take("password_file"))
    if (auto text = read_nonempty_string(*item, problems)) {
      redis.password_file = resolve_config_path(*text, base_dir);
      if (auto password = read_secret_file(redis.password_file, *item, problems, "password"))
        redis.password = std::move(*password);
    }
  if (!redis.user.empty() && redis.password_file.empty())
    problems.add(map.self().line, map.self().key, "a Redis user needs `password_file:`");
  if (auto item = map.take("tls")) load_redis_tls(*item, base_dir, redis, problems);
  const bool any_tls = std::any_of(redis.addresses.begin(), redis.addresses.end(), [](auto& a) { return a.tls; });
  if (!any_tls && (!redis.ca_file.empty() || !redis.cert_file.empty() || redis.insecure))
    problems.add(map.self().line, map.self().key, "`tls:` settings need a rediss:// address");
  if (auto item = map.take("connect_timeout"))
    if (auto value = read_redis_timeout(*item, problems)) redis.connect_timeout = *value;
  if (auto item = map.take("command_timeout"))
    if (auto value = read_redis_timeout(*item, problems)) redis.command_timeout = *value;
  if (problems.size() != before) return std::nullopt;
  return redis;
}

std::optional<RedisConfig> load_redis(const Entry& entry, const std::filesystem::path& base_dir,
                                      ProblemList& problems) {
  if (entry.node.IsScalar()) {
    RedisConfig redis;
    redis.line = entry.line;
    const std::size_t before = problems.size();
    add_url(entry, redis, problems);
    if (problems.size() != before) return std::nullopt;
    return redis;
  }
  MapReader map(entry, problems);
  if (!map.ok()) return std::nullopt;
  auto redis = load_redis_keys(map, base_dir, problems);
  map.finish();
  return redis;
}

std::optional<BrokerConfig> load_broker(const std::optional<Entry>& section, const std::filesystem::path& base_dir,
                                        ProblemList& problems) {
  if (!section) return std::nullopt;
  MapReader map(*section, problems);
  if (!map.ok()) return std::nullopt;
  BrokerConfig broker;
  broker.line = section->line;
  bool enabled = true;
  if (auto entry = map.take("enabled"))
    if (auto value = read_bool(*entry, problems)) enabled = *value;
  auto redis = load_redis_keys(map, base_dir, problems);
  if (auto entry = map.take("stream"))
    if (auto text = read_name(*entry, problems)) broker.stream = *text;
  if (auto entry = map.take("max_len"))
    if (auto value = read_integer(*entry, problems, 100, max_limit)) broker.max_len = static_cast<std::size_t>(*value);
  if (auto entry = map.take("events")) {
    for (const auto& item : read_list(*entry, problems, "event names")) {
      const auto name = read_string(item, problems);
      if (!name) continue;
      if (auto kind = parse_event_kind(*name))
        broker.events.push_back(*kind);
      else
        problems.add(item.line, item.key, "unknown event " + quote_value(*name));
    }
  }
  if (auto entry = map.take("spool_dir"))
    if (auto text = read_nonempty_string(*entry, problems)) broker.spool_dir = resolve_config_path(*text, base_dir);
  // systemd's StateDirectory= (the packaged unit) names the place for state;
  // otherwise beside the config file.
  if (broker.spool_dir.empty()) {
    const char* state = std::getenv("STATE_DIRECTORY");
    const std::string first_state = state ? std::string(state).substr(0, std::string(state).find(':')) : "";
    broker.spool_dir = first_state.empty() ? resolve_config_path("broker-spool", base_dir)
                                           : std::filesystem::path(first_state) / "broker-spool";
  }
  if (auto entry = map.take("spool_max_size"))
    if (auto text = read_string(*entry, problems)) {
      std::string error;
      const auto size = parse_size(*text, error);
      if (!size)
        problems.add(entry->line, entry->key, error);
      else if (*size < (64u << 10))
        problems.add(entry->line, entry->key, "at least 64KiB");
      else
        broker.spool_max_bytes = static_cast<std::size_t>(*size);
    }
  if (auto entry = map.take("host_name"))
    if (auto text = read_name(*entry, problems)) broker.host_name = *text;
  if (auto entry = map.take("group"))
    if (auto text = read_name(*entry, problems)) broker.group = *text;
  if (auto entry = map.take("consumer"))
    if (auto text = read_name(*entry, problems)) broker.consumer = *text;
  if (auto entry = map.take("claim_idle"))
    if (auto value = read_redis_timeout(*entry, problems)) broker.claim_idle = *value;
  if (auto entry = map.take("batch"))
    if (auto value = read_integer(*entry, problems, 1, 10'000)) broker.batch = static_cast<std::size_t>(*value);
  map.finish();
  if (broker.host_name.empty()) {
    char name[256] = {};
    if (::gethostname(name, sizeof name - 1) == 0) broker.host_name = name;
    if (broker.host_name.empty()) broker.host_name = "localhost";
  }
  if (!enabled || !redis) return std::nullopt;
  broker.redis = std::move(*redis);
  return broker;
}

}  // namespace vhm::conf
