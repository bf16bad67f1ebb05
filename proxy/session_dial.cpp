// Finding and reaching the target: name resolution (IP literals skip the
// resolver thread), the bounded connect, and the {user} fallback from the
// owner of a local target port. A transparent session's target is the
// connection's original destination; its upstream socket is bound before the
// connect (to the client's address under tproxy) and registered for loop
// detection (transparent_loop.hpp).
#include "util/log.hpp"

#include <boost/asio/connect.hpp>

#include "conf/address.hpp"
#include "proxy/endpoint_text.hpp"
#include "proxy/frontend/tls_transport.hpp"
#include "proxy/relay/tcp_transport.hpp"
#include "proxy/session.hpp"
#include "proxy/target_owner.hpp"
#include "proxy/transparent_socket.hpp"

namespace vhm::proxy {

std::string Session::target_text() const {
  if (destination_) return endpoint_text(*destination_);
  return conf::format_host_port(token_target_ ? *token_target_ : listener_->config.target);
}

awaitable<std::optional<tcp::resolver::results_type>> Session::resolve_target() {
  if (destination_) {
    co_return tcp::resolver::results_type::create(*destination_, address_text(destination_->address()),
                                                  std::to_string(destination_->port()));
  }
  const auto& target = token_target_ ? *token_target_ : listener_->config.target;
  const std::string port = std::to_string(target.port);
  // An IP literal needs no resolver: skip its background thread and the hop there and back.
  boost::system::error_code not_numeric;
  const auto address = asio::ip::make_address(target.host, not_numeric);
  if (!not_numeric) co_return tcp::resolver::results_type::create(tcp::endpoint(address, target.port), target.host, port);
  resolver_ = std::make_unique<tcp::resolver>(server_.get_executor());
  auto [error, results] = co_await resolver_->async_resolve(target.host, port, tcp::resolver::numeric_service, use_tuple);
  resolver_.reset();
  if (error || results.empty()) {
    note_end(DisconnectReason::target_unreachable,
             "cannot resolve " + target.host + ": " + (error ? error.message() : "no addresses"));
    co_return std::nullopt;
  }
  co_return results;
}

awaitable<bool> Session::dial(const tcp::resolver::results_type& endpoints) {
  const auto& config = listener_->config;
  boost::system::error_code error;
  tcp::endpoint endpoint;
  // The connect timeout closes the socket, which ends the connect (a range
  // connect too: it stops at a closed socket). A callback, not a race of the
  // connect against the timer: no parallel group per session.
  connect_timed_out_ = false;
  timer_.expires_after(config.connect_timeout);
  on_timer_expiry([](Session& session) {
    session.connect_timed_out_ = true;
    boost::system::error_code ignored;
    session.server_.close(ignored);
  });
  if (destination_) {
    std::string problem;
    const auto source = open_upstream_socket(server_, config.transparent, *destination_, client_address_, problem);
    if (!source) {
      disarm_deadline();
      note_end(DisconnectReason::target_unreachable, "cannot connect to " + target_text() + ": " + problem);
      co_return false;
    }
    own_source_.set(*source);  // before the SYN: a looped connection is known when it arrives
    std::tie(error) = co_await server_.async_connect(*destination_, use_tuple);
    endpoint = *destination_;
  } else {
    std::tie(error, endpoint) = co_await asio::async_connect(server_, endpoints, use_tuple);
  }
  disarm_deadline();
  const bool timed_out = connect_timed_out_;
  if (timed_out) {
    if (!closing_)
      note_end(DisconnectReason::timeout, "no connection to " + target_text() + " within " +
                                              std::to_string(config.connect_timeout.count()) + "s");
    co_return false;
  }
  if (error) {
    if (!closing_) note_end(DisconnectReason::target_unreachable, "cannot connect to " + target_text() + ": " + error.message());
    co_return false;
  }
  spdlog::debug("session {}: connected to {}", id(), endpoint_text(endpoint));
  co_return true;
}

awaitable<bool> Session::open_server_stream() {
  if (!listener_->config.target_tls) {
    server_stream_ = std::make_unique<relay::TcpTransport>(server_);
    co_return true;
  }
  // target_tls (websockify's --ssl-target): TLS toward the target, unverified, within the connect timeout.
  auto tls = co_await frontend::make_tls_client_transport(
      server_, fields_[conf::Field::target_host],
      std::chrono::duration_cast<std::chrono::milliseconds>(listener_->config.connect_timeout));
  if (!tls.transport) {
    if (!closing_) note_end(DisconnectReason::target_unreachable, target_text() + ": " + tls.error);
    co_return false;
  }
  server_stream_ = std::move(tls.transport);
  co_return true;
}

std::string Session::fill_user_from_target_owner(const tcp::endpoint& target) {
  if (!is_local_address(target.address())) return {};
  return local_listener_owner(target.port()).value_or(std::string());
}

}  // namespace vhm::proxy
