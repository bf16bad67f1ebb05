#include "policy/connection_limits.hpp"

#include <algorithm>

namespace vhm::policy {

ConnectionLimits::ConnectionLimits(const conf::ListenerConfig& listener, std::size_t max_addresses)
    : max_addresses_(std::max<std::size_t>(max_addresses, 1)) {
  configure(listener);
}

void ConnectionLimits::configure(const conf::ListenerConfig& listener) {
  std::lock_guard lock(mutex_);
  allow_ = CidrSet(listener.allow);
  deny_ = CidrSet(listener.deny);
  max_sessions_ = listener.max_sessions;
  max_sessions_per_ip_ = listener.max_sessions_per_ip;
  max_connects_per_minute_ = listener.max_connects_per_minute;
}

void ConnectionLimits::expire(Client& client, TimePoint now) const {
  const auto first_kept = std::find_if(client.connects.begin(), client.connects.end(),
                                       [&](TimePoint t) { return now - t < rate_window; });
  client.connects.erase(client.connects.begin(), first_kept);
}

ConnectionLimits::Lru::iterator ConnectionLimits::find_or_add(const std::string& key, TimePoint now) {
  if (const auto found = index_.find(key); found != index_.end()) {
    lru_.splice(lru_.end(), lru_, found->second);
    return found->second;
  }
  if (index_.size() >= max_addresses_) sweep(now);
  // Still full: forget the least recently seen idle address (its rate history).
  // Addresses with sessions are never dropped; they are bounded by the sessions.
  for (auto it = lru_.begin(); index_.size() >= max_addresses_ && it != lru_.end();) {
    const auto next = std::next(it);
    if (it->sessions == 0) {
      index_.erase(it->key);
      lru_.erase(it);
    }
    it = next;
  }
  lru_.push_back(Client{key, 0, {}});
  const auto it = std::prev(lru_.end());
  index_.emplace(key, it);
  return it;
}

void ConnectionLimits::sweep(TimePoint now) {
  for (auto it = lru_.begin(); it != lru_.end();) {
    const auto next = std::next(it);
    expire(*it, now);
    if (it->sessions == 0 && it->connects.empty()) {
      index_.erase(it->key);
      lru_.erase(it);
    }
    it = next;
  }
  next_sweep_ = now + rate_window;
}

ConnectionLimits::Decision ConnectionLimits::admit(const Address& address, TimePoint now) {
  const Address client = canonical(address);
  std::lock_guard lock(mutex_);
  if (deny_.contains(client) || (!allow_.empty() && !allow_.contains(client))) return Decision::denied;
  if (now >= next_sweep_ || now + rate_window < next_sweep_) sweep(now);

  const std::string key = client.to_string();
  const auto found = index_.find(key);
  if (found != index_.end()) {
    Client& known = *found->second;
    expire(known, now);
    if (max_sessions_per_ip_ && known.sessions >= *max_sessions_per_ip_) return Decision::per_ip_limit;
    if (max_connects_per_minute_ && known.connects.size() >= *max_connects_per_minute_) return Decision::rate_limit;
  }
  if (max_sessions_ && sessions_ >= *max_sessions_) return Decision::session_limit;

  Client& entry = *find_or_add(key, now);
  entry.sessions += 1;
  if (max_connects_per_minute_) entry.connects.push_back(now);
  sessions_ += 1;
  return Decision::ok;
}

void ConnectionLimits::session_ended(const Address& address) {
  const std::string key = canonical(address).to_string();
  std::lock_guard lock(mutex_);
  const auto found = index_.find(key);
  if (found == index_.end() || found->second->sessions == 0) return;  // not ours: ignore, never underflow
  Client& client = *found->second;
  client.sessions -= 1;
  sessions_ -= 1;
  if (client.sessions == 0 && client.connects.empty()) {
    lru_.erase(found->second);
    index_.erase(found);
  }
}

std::size_t ConnectionLimits::sessions() const {
  std::lock_guard lock(mutex_);
  return sessions_;
}

std::size_t ConnectionLimits::sessions_of(const Address& address) const {
  const std::string key = canonical(address).to_string();
  std::lock_guard lock(mutex_);
  const auto found = index_.find(key);
  return found == index_.end() ? 0 : found->second->sessions;
}

std::size_t ConnectionLimits::tracked_addresses() const {
  std::lock_guard lock(mutex_);
  return index_.size();
}

std::optional<Refusal> refusal_of(ConnectionLimits::Decision decision) {
  switch (decision) {
    case ConnectionLimits::Decision::ok: return std::nullopt;
    case ConnectionLimits::Decision::denied: return Refusal::denied;
    case ConnectionLimits::Decision::session_limit: return Refusal::session_limit;
    case ConnectionLimits::Decision::per_ip_limit: return Refusal::per_ip_limit;
    case ConnectionLimits::Decision::rate_limit: return Refusal::rate_limit;
  }
  return std::nullopt;
}

}  // namespace vhm::policy
