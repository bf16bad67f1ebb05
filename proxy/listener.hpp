#pragma once
// One listening socket and its accept loop. Each accepted connection becomes a
// Session coroutine; a full session table or a transient accept error (out of
// file descriptors) is logged and never stops the loop.
#include <memory>
#include <optional>
#include <string>

#include "conf/config.hpp"
#include "proxy/asio.hpp"
#include "proxy/session.hpp"

namespace vhm::proxy {

class Listener {
 public:
  // Binds and listens; on failure returns null and sets `error`.
  static std::unique_ptr<Listener> open(asio::io_context& io, const conf::ListenerConfig& config,
                                        std::string& error);

  awaitable<void> accept_loop(SessionServices services, std::size_t max_sessions);
  void close();
  const std::string& address() const { return context_->listen_text; }

 private:
  Listener(tcp::acceptor acceptor, std::shared_ptr<const ListenerContext> context);
  // The text for the viewer when policy refuses this client (ban, allow/deny,
  // limits); logs the refusal and publishes `blocked`. nullopt: admitted.
  std::optional<std::string> admission_refusal(const tcp::endpoint& peer, const SessionServices& services);

  tcp::acceptor acceptor_;
  std::shared_ptr<const ListenerContext> context_;
};

}  // namespace vhm::proxy
