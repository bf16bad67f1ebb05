#include "proxy/server.hpp"

#include "util/log.hpp"

#include <csignal>

#include "conf/address.hpp"
#include "conf/duration.hpp"
#include "proxy/session.hpp"
#include "util/spawn_logged.hpp"

namespace vhm::proxy {
namespace {

// How often the session count is looked at for LifecycleObserver::sessions_changed.
constexpr std::chrono::milliseconds status_interval{500};

const char* signal_name(int signal_number) {
  switch (signal_number) {
    case SIGINT: return "SIGINT";
    case SIGTERM: return "SIGTERM";
    case SIGHUP: return "SIGHUP";
  }
  return "signal";
}

}  // namespace

Server::Server(asio::io_context& io, std::shared_ptr<const conf::Config> config, hooks::EventSink& events)
    : io_(io),
      config_(std::move(config)),
      events_(events),
      signals_(io, SIGINT, SIGTERM, SIGHUP),
      grace_timer_(io),
      status_timer_(io) {}

Server::~Server() = default;

SessionServices Server::services() {
  return SessionServices{events_,  buffers_,          sessions_, config_, blocking_enabled_ ? blocking_.get() : nullptr,
                         &config_, &server_versions_, &recorder_};
}

void Server::enable_reload(ConfigLoader loader, hooks::HookDispatcher* dispatcher) {
  loader_ = std::move(loader);
  dispatcher_ = dispatcher;
}

bool Server::start(std::string& error) {
  apply_recording(*config_);
  if (config_->blocking) {
    blocking_ = std::make_unique<Blocking>(*config_->blocking, events_, io_.get_executor());
    blocking_enabled_ = true;
    blocking_state_file_ = config_->blocking->state_file;
  }
  for (const auto& listener_config : config_->listeners) {
    auto listener = Listener::open(io_, listener_config, error);
    if (!listener) {
      for (auto& opened : listeners_) opened->close();
      listeners_.clear();
      return false;
    }
    listeners_.push_back(std::move(listener));
  }
  if (!config_->control_socket.empty()) {
    control_handler_ = std::make_unique<ProxyControl>(sessions_, blocking_.get());
    control_server_ = std::make_unique<control::ControlServer>(io_, config_->control_socket, *control_handler_);
    if (!control_server_->start(error)) {
      for (auto& opened : listeners_) opened->close();
      listeners_.clear();
      return false;
    }
  }
  if (!start_admin(error)) {
    for (auto& opened : listeners_) opened->close();
    listeners_.clear();
    if (control_server_) control_server_->close();
    return false;
  }
  for (auto& listener : listeners_) {
    spdlog::info("listening on {} -> {}", listener->address(), listener->target_text());
    spawn_accept_loop(*listener);
  }
  wait_for_signals();
  metrics_collector_ = metrics::ScopedCollector(metrics::global_registry(),
                                                [this](metrics::SampleWriter& out) { collect_metrics(out); });
  // READY only once the io thread runs: main may still drop privileges first.
  asio::post(io_, [this] {
    if (stopping_) return;
    accepting_ = true;
    if (observer_) observer_->ready(listeners_.size());
    watch_session_count();
  });
  return true;
}

void Server::spawn_accept_loop(Listener& listener) {
  util::spawn_logged(io_.get_executor(), listener.accept_loop(services()), "listener " + listener.address());
}

std::vector<std::string> Server::listening() const {
  std::vector<std::string> addresses;
  for (const auto& listener : listeners_) addresses.push_back(listener->address());
  return addresses;
}

void Server::wait_for_signals() {
  signals_.async_wait([this](const boost::system::error_code& error, int signal_number) {
    if (error) return;
    // Re-arm first: a stop may cancel the signal set at once (no sessions), and
    // that cancel must hit this new wait or io_context::run() never returns.
    wait_for_signals();
    on_signal(signal_number);
  });
}

void Server::on_signal(int signal_number) {
  if (signal_number != SIGHUP) {
    stop(signal_name(signal_number));
    return;
  }
  if (stopping_) {
    spdlog::info("SIGHUP received while shutting down: not reloading");
    return;
  }
  if (!loader_) {
    spdlog::info("SIGHUP received: nothing to reload (quick mode, no --config file)");
    return;
  }
  spdlog::info("SIGHUP received: reloading {}", config_->source.string());
  reload();
}

// Polled rather than pushed: sessions come and go in bursts, and the service
// manager wants a status line now and then, not one per connection.
void Server::watch_session_count() {
  if (!observer_ || finished_) return;
  const std::size_t count = sessions_.size();
  if (count != reported_sessions_) {
    reported_sessions_ = count;
    observer_->sessions_changed(count);
  }
  status_timer_.expires_after(status_interval);
  status_timer_.async_wait([this](const boost::system::error_code& error) {
    if (!error) watch_session_count();
  });
}

void Server::stop(const char* why) {
  if (stopping_) {
    if (closing_sessions_ || finished_) {
      spdlog::warn("{} received again: already closing every session", why);
      return;
    }
    spdlog::info("{} received again: closing {} session(s) now", why, sessions_.size());
    close_all_sessions();
    return;
  }
  stopping_ = true;
  if (observer_) observer_->stopping();
  for (auto& listener : listeners_) listener->close();
  for (auto& listener : retired_) listener->close();
  const auto grace = config_->global.shutdown_grace;
  const std::size_t live = sessions_.size();
  if (live == 0) {
    spdlog::info("{} received: closed {} listener(s); no sessions", why, listeners_.size());
    finish_shutdown();
    return;
  }
  sessions_.on_empty([this] { finish_shutdown(); });
  if (grace.count() == 0) {
    spdlog::info("{} received: closed {} listener(s), closing {} session(s)", why, listeners_.size(), live);
    close_all_sessions();
    return;
  }
  spdlog::info("{} received: closed {} listener(s); {} session(s) may run for up to {} (a second signal ends them now)",
               why, listeners_.size(), live, conf::format_duration(grace));
  grace_timer_.expires_after(grace);
  grace_timer_.async_wait([this](const boost::system::error_code& error) {
    if (error || closing_sessions_ || finished_) return;
    spdlog::info("shutdown grace over: closing {} session(s)", sessions_.size());
    close_all_sessions();
  });
}

void Server::close_all_sessions() {
  closing_sessions_ = true;
  grace_timer_.cancel();
  for (auto& listener : listeners_) listener->end_late_sessions();
  for (auto& listener : retired_) listener->end_late_sessions();
  sessions_.for_each([](Session& session) { session.close(DisconnectReason::shutdown); });
}

void Server::finish_shutdown() {
  if (finished_) return;
  finished_ = true;
  closing_sessions_ = true;
  // A connection accepted just before the listeners closed may start its
  // session only now: it ends at once, with its events.
  for (auto& listener : listeners_) listener->end_late_sessions();
  for (auto& listener : retired_) listener->end_late_sessions();
  if (observer_ && reported_sessions_ != 0) observer_->sessions_changed(0);
  grace_timer_.cancel();
  status_timer_.cancel();
  if (control_server_) control_server_->close();
  if (admin_server_) admin_server_->close();
  if (blocking_) blocking_->stop();  // shared bans' Redis connections
  signals_.cancel();  // nothing left to wait for: let io_context::run() return
}

}  // namespace vhm::proxy
