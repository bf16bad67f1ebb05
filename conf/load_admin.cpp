// `admin:` (docs/admin-api.md): the admin HTTP listener. The bearer token is
// read here, at load, so --check-config and a reload see exactly what the
// running listener will use, and a token file others could read is a config
// error rather than a secret quietly exposed.
#include "conf/address.hpp"
#include "conf/config_sections.hpp"
#include "conf/duration.hpp"
#include "conf/secret_file.hpp"

namespace vhm::conf {
namespace {

constexpr std::size_t min_token_length = 16;
// Longer than any request needs; bounds what a typo ("10h") could hold open.
constexpr std::chrono::milliseconds max_admin_timeout{std::chrono::minutes(10)};

// The token's text, or nullopt after reporting the problem at `entry`.
std::optional<std::string> read_token_file(const std::filesystem::path& file, const Entry& entry,
                                           ProblemList& problems) {
  auto token = read_secret_file(file, entry, problems, "token");
  if (!token) return std::nullopt;
  const std::string name = quote_value(file.string());
  const auto fail = [&](const std::string& message) {
    problems.add(entry.line, entry.key, message);
    return std::nullopt;
  };
  if (token->size() < min_token_length)
    return fail("the token in " + name + " has " + std::to_string(token->size()) + " characters; use at least " +
                std::to_string(min_token_length) + " (e.g. openssl rand -hex 32)");
  for (const char c : *token)
    if (c < 0x21 || c > 0x7e)
      return fail("the token in " + name +
                  " may hold only visible ASCII characters (no spaces or control characters), as sent in an "
                  "Authorization: Bearer header");
  return token;
}

std::optional<std::chrono::milliseconds> read_admin_timeout(const Entry& entry, ProblemList& problems) {
  const auto value = read_duration(entry, problems);
  if (!value) return std::nullopt;
  if (value->count() <= 0 || *value > max_admin_timeout) {
    problems.add(entry.line, entry.key, "must be more than 0 and at most " + format_duration(max_admin_timeout));
    return std::nullopt;
  }
  return value;
}

}  // namespace

AdminConfig load_admin(const std::optional<Entry>& section, const std::filesystem::path& base_dir,
                       ProblemList& problems) {
  AdminConfig admin;
  if (!section) return admin;
  MapReader map(*section, problems);
  if (!map.ok()) return admin;
  admin.line = section->line;
  admin.listen_line = section->line;
  bool enabled = true;
  if (auto entry = map.take("enabled"))
    if (auto value = read_bool(*entry, problems)) enabled = *value;
  if (auto entry = map.take("listen")) {
    admin.listen_line = entry->line;
    if (auto text = read_string(*entry, problems)) {
      std::string error;
      if (auto listen = parse_listen_address(*text, error))
        admin.listen = *listen;
      else
        problems.add(entry->line, entry->key, error);
    }
  }
  const std::optional<Entry> token_entry = map.take("token_file");
  if (token_entry)
    if (auto text = read_nonempty_string(*token_entry, problems)) {
      admin.token_file = resolve_config_path(*text, base_dir);
      if (auto token = read_token_file(admin.token_file, *token_entry, problems)) admin.token = std::move(*token);
    }
  if (auto entry = map.take("metrics_need_token")) {
    if (auto value = read_bool(*entry, problems)) {
      admin.metrics_need_token = *value;
      if (*value && !token_entry)
        problems.add(entry->line, entry->key, "metrics_need_token needs a token: set admin.token_file too");
    }
  }
  if (auto entry = map.take("request_timeout"))
    if (auto value = read_admin_timeout(*entry, problems)) admin.request_timeout = *value;
  if (auto entry = map.take("idle_timeout"))
    if (auto value = read_admin_timeout(*entry, problems)) admin.idle_timeout = *value;
  map.finish();
  admin.enabled = enabled;
  return admin;
}

}  // namespace vhm::conf
