#include "policy/ban_table.hpp"

#include <algorithm>

namespace vhm::policy {
namespace {

// How often the whole table is swept for forgotten keys (in `now` time).
constexpr std::chrono::seconds sweep_interval{60};

}  // namespace

BanTable::BanTable(const conf::BlockingConfig& config, std::size_t max_keys) : max_keys_(std::max<std::size_t>(max_keys, 1)) {
  configure(config);
}

void BanTable::configure(const conf::BlockingConfig& config) {
  std::lock_guard lock(mutex_);
  max_failures_ = std::max(config.max_failures, 1u);
  window_ = config.window;
  ban_ = config.ban;
  max_ban_ = std::max(config.max_ban, config.ban);
  allow_ = CidrSet(config.allow);
  prefixes_ = KeyPrefixes{config.ipv4_prefix, config.ipv6_prefix};
}

KeyPrefixes BanTable::prefixes() const {
  std::lock_guard lock(mutex_);
  return prefixes_;
}

Ban BanTable::to_ban(const State& state) const {
  return Ban{state.key, state.ban_failures, state.until, state.duration, state.level};
}

bool BanTable::expire(State& state, TimePoint now) const {
  const auto first_kept =
      std::find_if(state.failures.begin(), state.failures.end(), [&](TimePoint t) { return now - t < window_; });
  state.failures.erase(state.failures.begin(), first_kept);
  if (state.level > 0 && now >= state.until && now - state.until >= max_ban_) state.level = 0;
  return state.level == 0 && state.failures.empty();
}

BanTable::Lru::iterator BanTable::find(const std::string& key, TimePoint now) {
  const auto found = index_.find(key);
  if (found == index_.end()) return lru_.end();
  const auto it = found->second;
  if (expire(*it, now)) {
    erase(it);
    return lru_.end();
  }
  return it;
}

BanTable::Lru::iterator BanTable::find_or_add(const std::string& key, TimePoint now) {
  auto it = find(key, now);
  if (it != lru_.end()) {
    lru_.splice(lru_.end(), lru_, it);  // most recently touched
    return it;
  }
  if (index_.size() >= max_keys_) sweep(now);
  while (index_.size() >= max_keys_) erase(lru_.begin());
  lru_.push_back(State{});
  it = std::prev(lru_.end());
  it->key = key;
  index_.emplace(key, it);
  return it;
}

void BanTable::erase(Lru::iterator it) {
  index_.erase(it->key);
  lru_.erase(it);
}

void BanTable::maybe_sweep(TimePoint now) {
  if (now < next_sweep_ && now + sweep_interval >= next_sweep_) return;  // also sweeps after a clock jump back
  sweep(now);
}

void BanTable::sweep(TimePoint now) {
  for (auto it = lru_.begin(); it != lru_.end();) {
    auto next = std::next(it);
    if (expire(*it, now)) erase(it);
    it = next;
  }
  next_sweep_ = now + sweep_interval;
}

std::optional<Ban> BanTable::record_failure(const Address& address, TimePoint now) {
  std::lock_guard lock(mutex_);
  if (allow_.contains(address)) return std::nullopt;
  maybe_sweep(now);
  State& state = *find_or_add(client_key(address, prefixes_), now);
  if (banned(state, now)) return std::nullopt;
  state.failures.push_back(now);
  if (state.failures.size() < max_failures_) return std::nullopt;

  // Escalate from the last ban while its level is remembered, else start over.
  state.duration = state.level == 0 ? ban_ : std::min(state.duration * 2, max_ban_);
  state.level += 1;
  // Whole milliseconds: the end is shown, announced and saved at that precision,
  // so a restart restores exactly the end that was announced.
  state.until = std::chrono::floor<std::chrono::milliseconds>(now + state.duration);
  state.ban_failures = static_cast<unsigned>(state.failures.size());
  state.failures.clear();
  return to_ban(state);
}

std::optional<Ban> BanTable::ban_for(const Address& address, TimePoint now) {
  std::lock_guard lock(mutex_);
  if (allow_.contains(address)) return std::nullopt;
  maybe_sweep(now);
  const auto it = find(client_key(address, prefixes_), now);
  if (it == lru_.end() || !banned(*it, now)) return std::nullopt;
  return to_ban(*it);
}

bool BanTable::unban(std::string_view address_or_key, TimePoint now) {
  std::lock_guard lock(mutex_);
  const auto key = key_from_text(address_or_key, prefixes_);
  if (!key) return false;
  const auto found = index_.find(*key);
  if (found == index_.end()) return false;
  const auto it = found->second;
  expire(*it, now);
  const bool active = banned(*it, now) || !it->failures.empty();
  erase(it);
  return active;
}

bool BanTable::unban(const Address& address, TimePoint now) {
  return unban(canonical(address).to_string(), now);
}

std::vector<Ban> BanTable::list(TimePoint now) {
  std::lock_guard lock(mutex_);
  sweep(now);
  std::vector<Ban> bans;
  for (const State& state : lru_)
    if (banned(state, now)) bans.push_back(to_ban(state));
  std::sort(bans.begin(), bans.end(),
            [](const Ban& a, const Ban& b) { return a.until != b.until ? a.until < b.until : a.key < b.key; });
  return bans;
}

std::size_t BanTable::restore(const std::vector<Ban>& bans, TimePoint now) {
  std::lock_guard lock(mutex_);
  std::size_t restored = 0;
  for (const Ban& ban : bans) {
    if (ban.until <= now || ban.level == 0 || ban.duration.count() <= 0) continue;
    const auto key = key_from_text(ban.key, prefixes_);
    if (!key || *key != ban.key) continue;
    std::string error;
    const auto block = conf::parse_cidr(ban.key, error);
    if (!block || allow_.covers(*block)) continue;
    State& state = *find_or_add(*key, now);
    if (banned(state, now) && state.until >= ban.until) continue;
    state.failures.clear();
    state.until = ban.until;
    state.duration = std::min(ban.duration, max_ban_);
    state.ban_failures = ban.failures;
    state.level = ban.level;
    ++restored;
  }
  return restored;
}

unsigned BanTable::failures(const Address& address, TimePoint now) {
  std::lock_guard lock(mutex_);
  const auto it = find(client_key(address, prefixes_), now);
  return it == lru_.end() ? 0 : static_cast<unsigned>(it->failures.size());
}

void BanTable::prune(TimePoint now) {
  std::lock_guard lock(mutex_);
  sweep(now);
}

std::size_t BanTable::size() const {
  std::lock_guard lock(mutex_);
  return index_.size();
}

}  // namespace vhm::policy
