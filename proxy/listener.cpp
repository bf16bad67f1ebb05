#include "proxy/listener.hpp"

#include <sys/socket.h>

#include "util/log.hpp"

#include "conf/address.hpp"
#include "policy/log_lines.hpp"
#include "policy/refusal_text.hpp"
#include "proxy/blocking.hpp"
#include "proxy/connection_fields.hpp"
#include "proxy/endpoint_text.hpp"
#include "proxy/transparent_socket.hpp"
#include "proxy/transparent_target.hpp"
#include "proxy/viewer_refusal.hpp"
#include "util/iso_time.hpp"
#include "proxy/session_registry.hpp"
#include "util/spawn_logged.hpp"

namespace vhm::proxy {
namespace {

awaitable<void> run_session(frontend::Accepted viewer, std::shared_ptr<const ListenerContext> context,
                            SessionServices services, std::shared_ptr<const bool> end_at_once,
                            std::optional<tcp::endpoint> destination) {
  auto session = std::make_shared<Session>(std::move(viewer), std::move(context), services, destination);
  if (*end_at_once) session->close(DisconnectReason::shutdown, "accepted as the proxy shut down");
  co_await session->run();
  if (session->relay_parked()) session->run_parked();  // an idle session keeps no coroutine frame
}

awaitable<void> refuse_connection(std::unique_ptr<relay::Transport> viewer, std::string text) {
  co_await refuse_viewer(*viewer, std::move(text), std::chrono::seconds(10));
}

// A listener with a front end (browser access, PROXY protocol): the front end
// first (it learns the real client and the token's target), then admission
// for that client, then the session.
awaitable<void> run_front_end(tcp::socket socket, std::shared_ptr<const ListenerContext> context,
                              SessionServices services, std::shared_ptr<const bool> end_at_once) {
  auto accepted = co_await frontend::accept_viewer(context->front_end, std::move(socket), context->listen_text);
  if (!accepted) co_return;
  if (auto refusal = Listener::admission_refusal(accepted->origin.peer, nullptr, &accepted->origin, *context, services)) {
    co_await refuse_connection(std::move(accepted->transport), std::move(*refusal));
    co_return;
  }
  co_await run_session(std::move(*accepted), std::move(context), services, std::move(end_at_once), std::nullopt);
}

// An empty host means every address: one dual-stack IPv6 socket where the
// host has IPv6, plain IPv4 otherwise. `transparent`: IP_TRANSPARENT before
// bind, so TPROXY may hand it connections addressed to other hosts.
tcp::acceptor bind_acceptor(asio::io_context& io, const conf::HostPort& listen, bool transparent,
                            boost::system::error_code& error) {
  tcp::acceptor acceptor(io);
  tcp::endpoint endpoint;
  if (listen.host.empty()) {
    endpoint = tcp::endpoint(tcp::v6(), listen.port);
    acceptor.open(endpoint.protocol(), error);
    if (error) {
      endpoint = tcp::endpoint(tcp::v4(), listen.port);
      error.clear();
      acceptor.open(endpoint.protocol(), error);
    } else {
      acceptor.set_option(asio::ip::v6_only(false), error);
    }
  } else {
    const auto address = asio::ip::make_address(listen.host == "localhost" ? "127.0.0.1" : listen.host, error);
    if (error) return acceptor;
    endpoint = tcp::endpoint(address, listen.port);
    acceptor.open(endpoint.protocol(), error);
  }
  if (error) return acceptor;
  if (transparent) set_ip_transparent(acceptor.native_handle(), endpoint.address().is_v6(), error);
  if (error) return acceptor;
  acceptor.set_option(asio::socket_base::reuse_address(true), error);
  // Accepted sockets inherit these (Linux): no setsockopt per session on the viewer leg.
  if (!error) acceptor.set_option(tcp::no_delay(true), error);
  if (!error) acceptor.set_option(asio::socket_base::keep_alive(true), error);
  if (!error) acceptor.bind(endpoint, error);
  if (!error) acceptor.listen(asio::socket_base::max_listen_connections, error);
  return acceptor;
}

}  // namespace

std::unique_ptr<Listener> Listener::open(asio::io_context& io, const conf::ListenerConfig& config,
                                         std::string& error) {
  boost::system::error_code ec;
  const bool tproxy = config.transparent == conf::Transparent::tproxy;
  tcp::acceptor acceptor = bind_acceptor(io, config.listen, tproxy, ec);
  if (ec) {
    error = "cannot listen on " + conf::format_host_port(config.listen) + ": " + ec.message() +
            (tproxy ? transparent_privilege_hint(ec) : std::string());
    return nullptr;
  }
  auto context = std::make_shared<ListenerContext>();
  context->config = config;
  context->listen_endpoint = acceptor.local_endpoint(ec);
  context->listen_text = endpoint_text(context->listen_endpoint);
  context->limits = std::make_shared<policy::ConnectionLimits>(config);
  if (config.frontend.needed() && config.transparent == conf::Transparent::off) {
    context->front_end = frontend::make_front_end(config, error);
    if (!context->front_end) {
      error = "listener " + conf::format_host_port(config.listen) + ": " + error;
      return nullptr;
    }
  }
  return std::unique_ptr<Listener>(new Listener(std::move(acceptor), std::move(context)));
}

Listener::Listener(tcp::acceptor acceptor, std::shared_ptr<const ListenerContext> context)
    : acceptor_(std::move(acceptor)), context_(std::move(context)) {}

std::string Listener::target_text() const {
  switch (config().transparent) {
    case conf::Transparent::redirect:
      return "original destination (redirect)";
    case conf::Transparent::tproxy:
      return "original destination (tproxy)";
    case conf::Transparent::off:
      break;
  }
  return conf::format_host_port(config().target);
}

void Listener::close() {
  // shutdown() stops the listening at once, for every copy of the descriptor:
  // a hook process just forked may hold one until it closes its inherited fds.
  if (acceptor_.is_open()) ::shutdown(acceptor_.native_handle(), SHUT_RD);
  boost::system::error_code ignored;
  acceptor_.close(ignored);
}

void Listener::reconfigure(const conf::ListenerConfig& config, SessionServices services) {
  auto context = std::make_shared<ListenerContext>(*context_);
  context->config = config;
  context->front_end.reset();
  if (config.frontend.needed() && config.transparent == conf::Transparent::off) {
    // Certificates, token and password files are read again; a file that
    // broke keeps the front end that works.
    std::string error;
    context->front_end = frontend::make_front_end(config, error);
    if (!context->front_end) {
      spdlog::error("listener {}: reload: {}; its front end keeps the previous settings", address(), error);
      context->front_end = context_->front_end;
    }
  }
  context->limits->configure(config);  // the same counts: sessions hand their slots back to it
  context_ = std::move(context);
  services_.emplace(services);
}

awaitable<void> Listener::accept_loop(SessionServices initial_services) {
  services_.emplace(initial_services);
  asio::steady_timer backoff(acceptor_.get_executor());
  while (acceptor_.is_open()) {
    tcp::endpoint peer;  // filled by accept() itself: no getpeername per connection
    auto [error, socket] = co_await acceptor_.async_accept(peer, use_tuple);
    if (error == asio::error::operation_aborted || !acceptor_.is_open()) break;
    if (error) {
      // EMFILE/ENFILE and friends: wait a little instead of spinning.
      spdlog::warn("listener {}: accept failed: {}", address(), error.message());
      backoff.expires_after(std::chrono::milliseconds(100));
      co_await backoff.async_wait(use_tuple);
      continue;
    }
    const SessionServices services = *services_;  // the settings of this accept, even across a reload
    const std::size_t max_sessions = services.config->global.max_sessions;
    if (services.registry.size() >= max_sessions) {
      boost::system::error_code ignored;
      spdlog::warn("listener {}: refusing {}: session limit reached ({} sessions)", address(), endpoint_text(peer),
                   max_sessions);
      socket.close(ignored);
      continue;
    }
    // Transparent listeners: the target is the connection's own destination,
    // checked before anything else (never an open relay, no loops).
    std::optional<TransparentTarget> target;
    if (context_->config.transparent != conf::Transparent::off) target = transparent_target(socket, *context_);
    if (context_->front_end) {
      util::spawn_logged(acceptor_.get_executor(),
                         run_front_end(std::move(socket), context_, services, end_late_sessions_), "session");
      continue;
    }
    if (auto refusal = admission_refusal(peer, target ? &*target : nullptr, nullptr, *context_, services)) {
      util::spawn_logged(acceptor_.get_executor(),
                         refuse_connection(Session::plain_viewer(std::move(socket), peer).transport, std::move(*refusal)),
                         "refusal");
      continue;
    }
    util::spawn_logged(acceptor_.get_executor(),
                       run_session(Session::plain_viewer(std::move(socket), peer), context_, services, end_late_sessions_,
                                   target ? std::optional(target->destination) : std::nullopt),
                       "session");
  }
  loop_done_ = true;
}

std::optional<std::string> Listener::admission_refusal(const tcp::endpoint& peer, const TransparentTarget* target,
                                                      const frontend::ViewerOrigin* origin,
                                                      const ListenerContext& context,
                                                      const SessionServices& services) {
  using conf::Field;
  const auto client = canonical_address(peer.address());
  const auto now = std::chrono::system_clock::now();
  // The decision first: an admitted connection (nearly all of them) builds no event.
  std::optional<policy::Refusal> refusal;
  std::optional<policy::Ban> ban;
  if (target && target->refusal) {
    refusal = target->refusal;
  } else if (services.blocking && (ban = services.blocking->active_ban(client))) {
    refusal = policy::Refusal::banned;
  } else {
    const auto decision = context.limits->admit(client, now);
    if (decision == policy::ConnectionLimits::Decision::ok) return std::nullopt;
    refusal = policy::refusal_of(decision);
  }

  const conf::HostPort* token_target = origin && origin->token_target ? &*origin->token_target : nullptr;
  hooks::Event event = connection_fields(peer, context, target ? std::optional(target->destination) : std::nullopt,
                                         token_target);
  event[Field::transport] = origin ? origin->transport : "tcp";
  if (origin) {
    event[Field::token] = origin->token;
    event[Field::http_user] = origin->http_user;
    event[Field::origin] = origin->origin;
  }
  std::string text;
  if (target && target->refusal) {
    text = policy::target_refusal_text(*refusal, endpoint_text(target->destination));
    spdlog::info("listener {}: client {}: {}", context.listen_text, endpoint_text(peer), target->detail);
  } else if (ban) {
    text = policy::banned_text(ban->until, now);
    event[Field::failures] = std::to_string(ban->failures);
    event[Field::ban_until] = util::iso8601_utc(ban->until);
  } else {
    text = policy::refusal_text(*refusal, event[Field::client_ip]);
  }
  spdlog::info("{}", policy::blocked_log_line(event[Field::client_ip], *refusal, text));
  event.kind = conf::EventKind::blocked;
  event[Field::event] = "blocked";
  event[Field::timestamp] = util::iso8601_utc_now();
  event[Field::reason] = std::string(policy::reason_code(*refusal));
  services.events.publish(std::move(event));
  return text;
}

}  // namespace vhm::proxy
