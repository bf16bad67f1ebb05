#include "proxy/blocking.hpp"

#include "util/log.hpp"

#include "policy/ban_store.hpp"
#include "policy/log_lines.hpp"
#include "util/iso_time.hpp"

namespace vhm::proxy {

using conf::Field;

Blocking::Blocking(const conf::BlockingConfig& config, hooks::EventSink& events, boost::asio::any_io_executor executor)
    : config_(config), events_(events), table_(config) {
  if (config_.state_file.empty()) {
    spdlog::warn("blocking: no state_file configured; bans are kept in memory only and end with the process");
  } else {
    const auto now = policy::Clock::now();
    auto loaded = policy::load_bans(config_.state_file, now);
    if (!loaded.error.empty())
      spdlog::error("blocking: starting with no bans: {}", loaded.error);
    const std::size_t restored = table_.restore(loaded.bans, now);
    spdlog::info("blocking: {} ban(s) restored from {}", restored, config_.state_file.string());
    saver_ = std::thread([this] { save_loop(); });
  }
  if (config_.shared) {
    shared_ = std::make_unique<broker::SharedBans>(std::move(executor), *config_.shared, config_, table_,
                                                   [this] { request_save(); });
    shared_->start();
  }
}

Blocking::~Blocking() {
  shared_.reset();  // first: it writes into table_ and calls request_save()
  if (!saver_.joinable()) return;
  {
    std::lock_guard lock(save_mutex_);
    stopping_ = true;
    save_pending_ = true;  // one last save with the final state
  }
  save_wanted_.notify_one();
  saver_.join();
}

std::optional<policy::Ban> Blocking::active_ban(const policy::Address& client) {
  return table_.ban_for(client, policy::Clock::now());
}

void Blocking::record_failure(const policy::Address& client, const hooks::Event& session_fields) {
  if (shared_) {
    // The ban, if this failure starts one, is known only once Redis answered.
    shared_->record_failure(client, [this, fields = session_fields](const policy::Ban& ban) { announce_ban(fields, ban); });
    return;
  }
  const auto ban = table_.record_failure(client, policy::Clock::now());
  if (ban) announce_ban(session_fields, *ban);
}

void Blocking::announce_ban(const hooks::Event& session_fields, const policy::Ban& ban) {
  spdlog::warn("{}", policy::ban_log_line(session_fields[Field::client_ip], ban));
  hooks::Event event = session_fields;
  event.kind = conf::EventKind::ban;
  event[Field::event] = "ban";
  event[Field::timestamp] = util::iso8601_utc_now();
  event[Field::reason] = "too many authentication failures";
  event[Field::failures] = std::to_string(ban.failures);
  event[Field::ban_until] = util::iso8601_utc(ban.until);
  events_.publish(std::move(event));
  request_save();
}

bool Blocking::unban(const std::string& address_or_key) {
  // Shared: lifted here at once, and on every proxy through Redis.
  const bool lifted = shared_ ? shared_->unban(address_or_key) : table_.unban(address_or_key, policy::Clock::now());
  if (lifted) {
    spdlog::info("blocking: {} unbanned by an operator", address_or_key);
    request_save();
  }
  return lifted;
}

std::vector<policy::Ban> Blocking::bans() { return table_.list(policy::Clock::now()); }

void Blocking::configure(const conf::BlockingConfig& config) {
  table_.configure(config);
  if (shared_) shared_->configure(config);
  if (config.shared.has_value() != config_.shared.has_value())
    spdlog::warn("reload: blocking.shared {}; takes effect at the next restart", config.shared ? "added" : "removed");
}

std::optional<bool> Blocking::shared_up() const {
  if (!shared_) return std::nullopt;
  return shared_->up();
}

void Blocking::stop() {
  if (shared_) shared_->stop();
}

void Blocking::request_save() {
  if (!saver_.joinable()) return;
  {
    std::lock_guard lock(save_mutex_);
    save_pending_ = true;
  }
  save_wanted_.notify_one();
}

void Blocking::save_loop() {
  std::unique_lock lock(save_mutex_);
  for (;;) {
    save_wanted_.wait(lock, [this] { return save_pending_ || stopping_; });
    if (save_pending_) {
      save_pending_ = false;
      lock.unlock();
      std::string error;
      if (!policy::save_bans(config_.state_file, table_.list(policy::Clock::now()), error))
        spdlog::error("blocking: cannot save bans: {}", error);
      lock.lock();
    }
    if (stopping_ && !save_pending_) return;
  }
}

}  // namespace vhm::proxy
