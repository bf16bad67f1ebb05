#pragma once
// One listening socket and its accept loop. Each accepted connection becomes a
// Session coroutine; a full session table or a transient accept error (out of
// file descriptors) is logged and never stops the loop. A config reload swaps
// the listener's settings and services under the running loop (the socket
// stays, so no connection is refused during a reload); sessions keep the
// settings they were accepted with.
#include <memory>
#include <optional>
#include <string>

#include "conf/config.hpp"
#include "proxy/asio.hpp"
#include "proxy/session.hpp"

namespace vhm::proxy {

struct TransparentTarget;

class Listener {
 public:
  // Binds and listens; on failure returns null and sets `error`.
  static std::unique_ptr<Listener> open(asio::io_context& io, const conf::ListenerConfig& config,
                                        std::string& error);

  // Accepts until close(). Each connection is checked against, and becomes a
  // session with, the settings and services current at its accept.
  awaitable<void> accept_loop(SessionServices services);
  // Config reload: `config` has the same listen address. New settings and
  // services for connections accepted from now on; admission counts of the
  // running sessions carry over.
  void reconfigure(const conf::ListenerConfig& config, SessionServices services);
  void close();
  // Shutdown: a session whose connection was accepted before close() but which
  // starts only now is ended at once (reason `shutdown`), still with its events.
  void end_late_sessions() { *end_late_sessions_ = true; }
  // True once accept_loop() has returned: the object may then be destroyed.
  bool loop_done() const { return loop_done_; }
  const std::string& address() const { return context_->listen_text; }
  // The text for the viewer when policy refuses this client (transparent
  // target, ban, allow/deny, limits); logs the refusal and publishes
  // `blocked`. nullopt: admitted. `target`: a transparent listener's decision
  // for this connection, whose refusal comes first; null for a static target.
  // `origin`: what the front end learned (transport, token and its target...), for the event; null: plain TCP.
  static std::optional<std::string> admission_refusal(const tcp::endpoint& peer, const TransparentTarget* target,
                                                      const frontend::ViewerOrigin* origin,
                                                      const ListenerContext& context,
                                                      const SessionServices& services);
  const conf::ListenerConfig& config() const { return context_->config; }
  // Where its sessions go, for the log: "127.0.0.1:5901" or "original destination (redirect)".
  std::string target_text() const;
  // Sessions admitted here and still running (also those from before a reload).
  std::size_t sessions() const { return context_->limits->sessions(); }

 private:
  Listener(tcp::acceptor acceptor, std::shared_ptr<const ListenerContext> context);

  tcp::acceptor acceptor_;
  std::shared_ptr<const ListenerContext> context_;
  std::optional<SessionServices> services_;  // set by accept_loop(), replaced by reconfigure()
  std::shared_ptr<bool> end_late_sessions_ = std::make_shared<bool>(false);
  bool loop_done_ = false;
};

}  // namespace vhm::proxy
