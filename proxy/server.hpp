#pragma once
// The proxy as a whole: every listener, the live sessions, and shutdown.
// SIGTERM/SIGINT: stop accepting, close every session (each publishes its
// `disconnect` with reason "shutdown"); io_context::run() then returns and the
// caller drains the hook dispatcher.
#include <memory>
#include <string>
#include <vector>

#include "conf/config.hpp"
#include "hooks/event_sink.hpp"
#include "proxy/asio.hpp"
#include "control/control_server.hpp"
#include "proxy/blocking.hpp"
#include "proxy/buffer_pool.hpp"
#include "proxy/proxy_control.hpp"
#include "proxy/listener.hpp"
#include "proxy/session_registry.hpp"

#include <boost/asio/signal_set.hpp>

namespace vhm::proxy {

class Server {
 public:
  Server(asio::io_context& io, std::shared_ptr<const conf::Config> config, hooks::EventSink& events);

  // Opens every listener (all or nothing); false with a message on failure.
  bool start(std::string& error);
  void stop(const char* why);

  SessionRegistry& sessions() { return sessions_; }
  bool stopping() const { return stopping_; }

 private:
  void wait_for_signals();

  asio::io_context& io_;
  std::shared_ptr<const conf::Config> config_;
  hooks::EventSink& events_;
  BufferPool buffers_;
  SessionRegistry sessions_;
  std::unique_ptr<Blocking> blocking_;  // null when blocking is off
  std::vector<std::unique_ptr<Listener>> listeners_;
  std::unique_ptr<ProxyControl> control_handler_;
  std::unique_ptr<control::ControlServer> control_server_;
  asio::signal_set signals_;
  bool stopping_ = false;
};

}  // namespace vhm::proxy
