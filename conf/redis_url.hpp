#pragma once
// A Redis address as written in the config: redis://[user@]host[:port][/db]
// or rediss:// for TLS (docs/fleet.md). A password in the URL is refused: it
// belongs in password_file, where it is not copied into every log line and
// `ps` output that quotes the config. Errors never quote the URL.
#include <optional>
#include <string>
#include <string_view>

#include "conf/config.hpp"

namespace vhm::conf {

struct RedisUrl {
  RedisAddress address;
  std::string user;  // user-info without a password: the ACL user
};

std::optional<RedisUrl> parse_redis_url(std::string_view text, std::string& error);

// "host:port" ("[v6]:port"), for logs: never user or database.
std::string describe(const RedisAddress& address);

}  // namespace vhm::conf
