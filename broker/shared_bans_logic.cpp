#include "broker/shared_bans_logic.hpp"

#include <algorithm>
#include <charconv>
#include <limits>

namespace vhm::broker::shared_bans {
namespace {

constexpr std::string_view failures_part = "failures:";
constexpr std::string_view ban_part = "ban:";
constexpr std::string_view unbanned_part = "unbanned:";

std::string join_key(std::string_view part, std::string_view client_key) {
  std::string key(key_prefix);
  key += part;
  key += client_key;
  return key;
}

// A word of a change message: printable ASCII without spaces.
bool is_word(std::string_view text) {
  return !text.empty() && text.size() <= 200 &&
         std::all_of(text.begin(), text.end(), [](char c) { return c > ' ' && c < 0x7f; });
}

template <typename Number>
std::optional<Number> parse_number(std::string_view text) {
  Number value{};
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc{} || end != text.data() + text.size()) return std::nullopt;
  return value;
}

std::vector<std::string_view> split_words(std::string_view text) {
  std::vector<std::string_view> words;
  std::size_t start = 0;
  while (start <= text.size()) {
    const auto space = text.find(' ', start);
    const auto end = space == std::string_view::npos ? text.size() : space;
    words.push_back(text.substr(start, end - start));
    if (space == std::string_view::npos) break;
    start = space + 1;
  }
  return words;
}

// A reply element as an integer: Redis integers, or numbers as bulk strings (HMGET).
std::optional<long long> integer_of(const RedisReply& reply) {
  if (reply.type == RedisReply::Type::integer) return reply.integer;
  if (reply.type == RedisReply::Type::string) return parse_number<long long>(reply.text);
  return std::nullopt;
}

// until_ms, duration_s, level, failures -> a ban, when every one makes sense.
std::optional<policy::Ban> make_ban(const std::string& key, std::optional<long long> until_ms,
                                    std::optional<long long> duration, std::optional<long long> level,
                                    std::optional<long long> failures) {
  if (!until_ms || !duration || !level || !failures) return std::nullopt;
  // The bounds of the state file (policy/ban_store.cpp), so every ban learned
  // here can be saved there and read back: an end within half of TimePoint's
  // range (2116; its nanoseconds end in 2262), seconds-long durations, 64 levels.
  constexpr long long max_until_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(policy::TimePoint::max().time_since_epoch()).count() / 2;
  constexpr long long max_seconds = 100'000'000'000;
  if (*until_ms <= 0 || *until_ms > max_until_ms || *duration <= 0 || *duration > max_seconds || *level <= 0 ||
      *level > 64 || *failures < 0 || *failures > std::numeric_limits<unsigned>::max())
    return std::nullopt;
  policy::Ban ban;
  ban.key = key;
  ban.until = from_unix_ms(*until_ms);
  ban.duration = std::chrono::seconds(*duration);
  ban.level = static_cast<unsigned>(*level);
  ban.failures = static_cast<unsigned>(*failures);
  return ban;
}

}  // namespace

std::string failures_key(std::string_view client_key) { return join_key(failures_part, client_key); }
std::string ban_key(std::string_view client_key) { return join_key(ban_part, client_key); }
std::string unbanned_key(std::string_view client_key) { return join_key(unbanned_part, client_key); }
std::string ban_key_pattern() { return join_key(ban_part, "*"); }

std::optional<std::string> client_key_of(std::string_view name) {
  const std::string head = join_key(ban_part, "");
  if (name.size() <= head.size() || name.substr(0, head.size()) != head) return std::nullopt;
  const auto key = name.substr(head.size());
  if (!is_word(key)) return std::nullopt;
  return std::string(key);
}

std::string channel(int database) { return std::string(key_prefix) + "changes:" + std::to_string(database); }

std::string format_change(const Change& change) {
  if (change.kind == Change::Kind::unban) return "unban " + change.origin + " " + change.ban.key;
  return "ban " + change.origin + " " + change.ban.key + " " + std::to_string(to_unix_ms(change.ban.until)) + " " +
         std::to_string(change.ban.duration.count()) + " " + std::to_string(change.ban.level) + " " +
         std::to_string(change.ban.failures);
}

std::optional<Change> parse_change(std::string_view text) {
  const auto words = split_words(text);
  if (words.size() < 3 || !is_word(words[1]) || !is_word(words[2])) return std::nullopt;
  Change change;
  change.origin = std::string(words[1]);
  if (words[0] == "unban" && words.size() == 3) {
    change.kind = Change::Kind::unban;
    change.ban.key = std::string(words[2]);
    return change;
  }
  if (words[0] != "ban" || words.size() != 7) return std::nullopt;
  auto ban = make_ban(std::string(words[2]), parse_number<long long>(words[3]), parse_number<long long>(words[4]),
                      parse_number<long long>(words[5]), parse_number<long long>(words[6]));
  if (!ban) return std::nullopt;
  change.kind = Change::Kind::ban;
  change.ban = std::move(*ban);
  return change;
}

long long to_unix_ms(policy::TimePoint when) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(when.time_since_epoch()).count();
}

policy::TimePoint from_unix_ms(long long ms) {
  return policy::TimePoint(std::chrono::duration_cast<policy::Clock::duration>(std::chrono::milliseconds(ms)));
}

ScriptSettings script_settings(const conf::BlockingConfig& config) {
  ScriptSettings settings;
  settings.max_failures = std::max(config.max_failures, 1u);
  settings.window = std::max<std::chrono::milliseconds>(config.window, std::chrono::milliseconds(1));
  settings.ban = config.ban;
  settings.max_ban = std::max(config.max_ban, config.ban);
  return settings;
}

std::optional<FailureOutcome> failure_outcome(const std::string& client_key, const RedisReply& reply) {
  if (reply.type != RedisReply::Type::array || reply.elements.empty()) return std::nullopt;
  const auto& e = reply.elements;
  if (e.size() == 1) {
    if (!integer_of(e[0])) return std::nullopt;
    return FailureOutcome{};
  }
  if (e.size() != 5) return std::nullopt;
  const auto flag = integer_of(e[0]);
  if (!flag || (*flag != 0 && *flag != 1)) return std::nullopt;
  auto ban = make_ban(client_key, integer_of(e[1]), integer_of(e[2]), integer_of(e[3]), integer_of(e[4]));
  if (!ban) return std::nullopt;
  return FailureOutcome{std::move(ban), *flag == 1};
}

std::optional<policy::Ban> ban_from_fields(const std::string& client_key, const RedisReply& reply) {
  if (reply.type != RedisReply::Type::array || reply.elements.size() != 4) return std::nullopt;
  const auto& e = reply.elements;
  return make_ban(client_key, integer_of(e[0]), integer_of(e[1]), integer_of(e[2]), integer_of(e[3]));
}

MergeVerdict merge_verdict(const RedisReply& reply) {
  if (reply.type != RedisReply::Type::integer) return MergeVerdict::invalid;
  switch (reply.integer) {
    case 1: return MergeVerdict::written;
    case 0: return MergeVerdict::kept;
    case -1: return MergeVerdict::unbanned;
  }
  return MergeVerdict::invalid;
}

}  // namespace vhm::broker::shared_bans
