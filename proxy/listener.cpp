#include "proxy/listener.hpp"

#include <spdlog/spdlog.h>

#include "conf/address.hpp"
#include "policy/log_lines.hpp"
#include "policy/refusal_text.hpp"
#include "proxy/blocking.hpp"
#include "proxy/connection_fields.hpp"
#include "proxy/endpoint_text.hpp"
#include "proxy/viewer_refusal.hpp"
#include "util/iso_time.hpp"
#include "proxy/session_registry.hpp"
#include "util/spawn_logged.hpp"

namespace vhm::proxy {
namespace {

awaitable<void> run_session(tcp::socket socket, std::shared_ptr<const ListenerContext> context,
                            SessionServices services) {
  Session session(std::move(socket), std::move(context), services);
  co_await session.run();
}

awaitable<void> refuse_connection(tcp::socket socket, std::string text) {
  co_await refuse_viewer(socket, std::move(text), std::chrono::seconds(10));
}

// An empty host means every address: one dual-stack IPv6 socket where the
// host has IPv6, plain IPv4 otherwise.
tcp::acceptor bind_acceptor(asio::io_context& io, const conf::HostPort& listen, boost::system::error_code& error) {
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
  acceptor.set_option(asio::socket_base::reuse_address(true), error);
  if (!error) acceptor.bind(endpoint, error);
  if (!error) acceptor.listen(asio::socket_base::max_listen_connections, error);
  return acceptor;
}

}  // namespace

std::unique_ptr<Listener> Listener::open(asio::io_context& io, const conf::ListenerConfig& config,
                                         std::string& error) {
  boost::system::error_code ec;
  tcp::acceptor acceptor = bind_acceptor(io, config.listen, ec);
  if (ec) {
    error = "cannot listen on " + conf::format_host_port(config.listen) + ": " + ec.message();
    return nullptr;
  }
  auto context = std::make_shared<ListenerContext>();
  context->config = config;
  context->listen_text = endpoint_text(acceptor.local_endpoint(ec));
  context->limits = std::make_shared<policy::ConnectionLimits>(config);
  return std::unique_ptr<Listener>(new Listener(std::move(acceptor), std::move(context)));
}

Listener::Listener(tcp::acceptor acceptor, std::shared_ptr<const ListenerContext> context)
    : acceptor_(std::move(acceptor)), context_(std::move(context)) {}

void Listener::close() {
  boost::system::error_code ignored;
  acceptor_.close(ignored);
}

awaitable<void> Listener::accept_loop(SessionServices services, std::size_t max_sessions) {
  asio::steady_timer backoff(acceptor_.get_executor());
  while (acceptor_.is_open()) {
    auto [error, socket] = co_await acceptor_.async_accept(use_tuple);
    if (error == asio::error::operation_aborted || !acceptor_.is_open()) break;
    if (error) {
      // EMFILE/ENFILE and friends: wait a little instead of spinning.
      spdlog::warn("listener {}: accept failed: {}", address(), error.message());
      backoff.expires_after(std::chrono::milliseconds(100));
      co_await backoff.async_wait(use_tuple);
      continue;
    }
    if (services.registry.size() >= max_sessions) {
      boost::system::error_code ignored;
      spdlog::warn("listener {}: refusing {}: session limit reached ({} sessions)", address(),
                   endpoint_text(socket.remote_endpoint(ignored)), max_sessions);
      socket.close(ignored);
      continue;
    }
    boost::system::error_code peer_error;
    const auto peer = socket.remote_endpoint(peer_error);
    if (peer_error) continue;  // already gone
    if (auto refusal = admission_refusal(peer, services)) {
      util::spawn_logged(acceptor_.get_executor(), refuse_connection(std::move(socket), std::move(*refusal)),
                   "refusal");
      continue;
    }
    util::spawn_logged(acceptor_.get_executor(), run_session(std::move(socket), context_, services), "session");
  }
}

std::optional<std::string> Listener::admission_refusal(const tcp::endpoint& peer, const SessionServices& services) {
  using conf::Field;
  const auto client = canonical_address(peer.address());
  const auto now = std::chrono::system_clock::now();
  hooks::Event event = connection_fields(peer, *context_);
  std::optional<policy::Refusal> refusal;
  std::string text;
  if (services.blocking) {
    if (auto ban = services.blocking->active_ban(client)) {
      refusal = policy::Refusal::banned;
      text = policy::banned_text(ban->until, now);
      event[Field::failures] = std::to_string(ban->failures);
      event[Field::ban_until] = util::iso8601_utc(ban->until);
    }
  }
  if (!refusal) {
    const auto decision = context_->limits->admit(client, now);
    if (decision == policy::ConnectionLimits::Decision::ok) return std::nullopt;
    refusal = policy::refusal_of(decision);
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
