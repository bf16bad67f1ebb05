// Server::reload: a re-read config is applied in place, all or nothing. New
// listeners are bound first; if any bind fails nothing changes (the config in
// force is always exactly one version of the file). Then, on the io thread and
// in one step: removed listeners stop accepting (their sessions go on), kept
// ones take the new settings for new connections, the hook dispatcher and
// the sessions' gates switch to the new hooks together, blocking takes its
// new settings with the current bans.
#include "util/log.hpp"

#include "conf/address.hpp"
#include "proxy/reload_plan.hpp"
#include "proxy/server.hpp"
#include "util/printable.hpp"

namespace vhm::proxy {
namespace {

std::size_t hook_count(const conf::Config& config) {
  std::size_t count = 0;
  for (const auto& [kind, hooks] : config.events) count += hooks.size();
  return count;
}

}  // namespace

bool Server::reload() {
  if (stopping_) {
    spdlog::info("reload skipped: shutting down");
    return false;
  }
  if (!loader_) {
    spdlog::info("reload skipped: nothing to reload (quick mode, no --config file)");
    return false;
  }
  if (observer_) observer_->reloading();
  const conf::LoadResult loaded = loader_();
  std::string error;
  if (!loaded.ok()) {
    for (const auto& problem : loaded.problems) spdlog::error("reload: {}", util::printable(problem.to_string()));
    const std::size_t count = loaded.problems.size();
    error = std::to_string(count) + (count == 1 ? " problem" : " problems") + " in the configuration";
    if (!loaded.problems.empty()) error += ", first: " + util::printable(loaded.problems.front().to_string());
  } else {
    apply_config(loaded.config, error);
  }
  if (!error.empty()) {
    spdlog::error("reload failed: {}; the configuration in force stays", error);
    if (observer_) observer_->reloaded(false, error);
    return false;
  }
  if (observer_) observer_->reloaded(true, {});
  return true;
}

bool Server::apply_config(std::shared_ptr<const conf::Config> next, std::string& error) {
  const ReloadPlan plan = plan_reload(*config_, *next);
  if (!plan.refusal.empty()) {
    error = plan.refusal;
    return false;
  }

  std::vector<std::unique_ptr<Listener>> opened;
  for (const std::size_t j : plan.opened) {
    auto listener = Listener::open(io_, next->listeners[j], error);
    if (!listener) {
      for (auto& done : opened) done->close();
      return false;
    }
    opened.push_back(std::move(listener));
  }

  // From here on nothing can fail: the new config is in force.
  for (const auto& line : plan.needs_restart) spdlog::warn("reload: {} until a restart", line);
  apply_admin(*next);
  std::vector<std::unique_ptr<Listener>> next_listeners(next->listeners.size());
  for (const auto& match : plan.kept) next_listeners[match.new_index] = std::move(listeners_[match.old_index]);
  for (std::size_t k = 0; k < plan.opened.size(); ++k) next_listeners[plan.opened[k]] = std::move(opened[k]);
  for (const std::size_t i : plan.closed) {
    auto& listener = listeners_[i];
    listener->close();
    spdlog::info("reload: closed listener {} ({} session(s) there go on)", listener->address(), listener->sessions());
    retired_.push_back(std::move(listener));
  }
  std::erase_if(retired_, [](const std::unique_ptr<Listener>& listener) { return listener->loop_done(); });
  listeners_ = std::move(next_listeners);

  // Hooks for new events and the sessions' gates switch together (io thread).
  config_ = std::move(next);
  if (dispatcher_) dispatcher_->set_config(config_);
  apply_blocking(*config_);
  apply_recording(*config_);

  const SessionServices current = services();
  for (const auto& match : plan.kept) {
    auto& listener = *listeners_[match.new_index];
    const auto& wanted = config_->listeners[match.new_index];
    const auto before = listener.target_text();
    const auto recorded_before = listener.config().recording;
    listener.reconfigure(wanted, current);
    const auto after = conf::format_host_port(wanted.target);
    if (before != after) spdlog::info("reload: listener {} now -> {} (for new sessions)", listener.address(), after);
    const auto& recorded = wanted.recording;
    if (recorded.enabled != recorded_before.enabled || (recorded.enabled && recorded.dir != recorded_before.dir))
      spdlog::info("reload: listener {} {} (for new sessions)", listener.address(),
                   recorded.enabled ? "now records to " + recorded.dir.string() : std::string("no longer records"));
  }
  for (const std::size_t j : plan.opened) {
    auto& listener = *listeners_[j];
    spdlog::info("listening on {} -> {}", listener.address(), listener.target_text());
    spawn_accept_loop(listener);
  }
  spdlog::info("reload done: {} in force: {} listener(s) ({} kept, {} opened, {} closed), {} hook(s), {} session(s) go on",
               config_->source.string(), listeners_.size(), plan.kept.size(), plan.opened.size(), plan.closed.size(),
               hook_count(*config_), sessions_.size());
  return true;
}

void Server::apply_recording(const conf::Config& next) {
  std::map<std::filesystem::path, record::RetentionPolicy> dirs;
  for (const auto& listener : next.listeners) {
    const auto& recording = listener.recording;
    if (!recording.enabled) continue;
    // Two listeners sharing a dir with different limits: the stricter of each wins.
    auto& policy = dirs[recording.dir];
    if (recording.max_age && (!policy.max_age || *recording.max_age < *policy.max_age))
      policy.max_age = recording.max_age;
    if (recording.max_total_size && (!policy.max_total_size || *recording.max_total_size < *policy.max_total_size))
      policy.max_total_size = recording.max_total_size;
  }
  recorder_.set_retention(std::move(dirs));
}

void Server::apply_blocking(const conf::Config& next) {
  if (next.blocking) {
    if (blocking_) {
      blocking_->configure(*next.blocking);
      if (next.blocking->state_file != blocking_state_file_)
        spdlog::warn("reload: blocking.state_file changed ({} -> {}); still {} until a restart",
                     blocking_state_file_.string(), next.blocking->state_file.string(),
                     blocking_state_file_.string());
    } else {
      blocking_ = std::make_unique<Blocking>(*next.blocking, events_, io_.get_executor());
      blocking_state_file_ = next.blocking->state_file;
    }
    if (!blocking_enabled_) spdlog::info("reload: blocking enabled");
    blocking_enabled_ = true;
  } else if (blocking_enabled_) {
    spdlog::info("reload: blocking disabled (bans are kept in memory in case it is enabled again)");
    blocking_enabled_ = false;
  }
  if (control_handler_) control_handler_->set_blocking(blocking_enabled_ ? blocking_.get() : nullptr);
}

}  // namespace vhm::proxy
