#include "proxy/server.hpp"

#include <spdlog/spdlog.h>

#include <csignal>

#include "conf/address.hpp"
#include "proxy/session.hpp"
#include "util/spawn_logged.hpp"

namespace vhm::proxy {

Server::Server(asio::io_context& io, std::shared_ptr<const conf::Config> config, hooks::EventSink& events)
    : io_(io), config_(std::move(config)), events_(events), signals_(io, SIGINT, SIGTERM) {}

bool Server::start(std::string& error) {
  if (config_->blocking) blocking_ = std::make_unique<Blocking>(*config_->blocking, events_);
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
      return false;
    }
  }
  const SessionServices services{events_, buffers_, sessions_, config_, blocking_.get()};
  for (std::size_t i = 0; i < listeners_.size(); ++i) {
    auto& listener = *listeners_[i];
    spdlog::info("listening on {} -> {}", listener.address(),
                 conf::format_host_port(config_->listeners[i].target));
    util::spawn_logged(io_.get_executor(), listener.accept_loop(services, config_->global.max_sessions),
                 "listener " + listener.address());
  }
  wait_for_signals();
  return true;
}

void Server::wait_for_signals() {
  signals_.async_wait([this](const boost::system::error_code& error, int signal_number) {
    if (error) return;
    // Re-arm first: stop() may cancel the signal set at once (no sessions), and
    // that cancel must hit this new wait or io_context::run() never returns.
    wait_for_signals();  // a second signal is logged, not fatal: hooks still drain
    stop(signal_number == SIGINT ? "SIGINT" : "SIGTERM");
  });
}

void Server::stop(const char* why) {
  if (stopping_) {
    spdlog::warn("{} received again: already shutting down", why);
    return;
  }
  stopping_ = true;
  spdlog::info("{} received: closing {} listener(s) and {} session(s)", why, listeners_.size(), sessions_.size());
  for (auto& listener : listeners_) listener->close();
  if (control_server_) control_server_->close();
  sessions_.for_each([](Session& session) { session.close(DisconnectReason::shutdown); });
  auto finished = [this] {
    signals_.cancel();  // nothing left to wait for: let io_context::run() return
  };
  if (sessions_.size() == 0)
    finished();
  else
    sessions_.on_empty(finished);
}

}  // namespace vhm::proxy
