// Finding and reaching the target: name resolution (IP literals skip the
// resolver thread), the bounded connect, and the {user} fallback from the
// owner of a local target port.
#include <spdlog/spdlog.h>

#include <boost/asio/connect.hpp>

#include "conf/address.hpp"
#include "proxy/endpoint_text.hpp"
#include "proxy/session.hpp"
#include "proxy/target_owner.hpp"

namespace vhm::proxy {

using namespace asio::experimental::awaitable_operators;

awaitable<std::optional<tcp::resolver::results_type>> Session::resolve_target() {
  const auto& target = listener_->config.target;
  const std::string port = std::to_string(target.port);
  // An IP literal needs no resolver: skip its background thread and the hop there and back.
  boost::system::error_code not_numeric;
  const auto address = asio::ip::make_address(target.host, not_numeric);
  if (!not_numeric) co_return tcp::resolver::results_type::create(tcp::endpoint(address, target.port), target.host, port);
  auto [error, results] = co_await resolver_.async_resolve(target.host, port, tcp::resolver::numeric_service, use_tuple);
  if (error || results.empty()) {
    note_end(DisconnectReason::target_unreachable,
             "cannot resolve " + target.host + ": " + (error ? error.message() : "no addresses"));
    co_return std::nullopt;
  }
  co_return results;
}

awaitable<bool> Session::dial(const tcp::resolver::results_type& endpoints) {
  const auto& config = listener_->config;
  timer_.expires_after(config.connect_timeout);
  auto outcome = co_await (asio::async_connect(server_, endpoints, use_tuple) || timer_.async_wait(use_tuple));
  if (outcome.index() == 1) {
    if (!closing_)
      note_end(DisconnectReason::timeout, "no connection to " + conf::format_host_port(config.target) +
                                              " within " + std::to_string(config.connect_timeout.count()) + "s");
    co_return false;
  }
  auto [error, endpoint] = std::get<0>(outcome);
  if (error) {
    if (!closing_)
      note_end(DisconnectReason::target_unreachable,
               "cannot connect to " + conf::format_host_port(config.target) + ": " + error.message());
    co_return false;
  }
  spdlog::debug("session {}: connected to {}", id(), endpoint_text(endpoint));
  co_return true;
}

std::string Session::fill_user_from_target_owner(const tcp::endpoint& target) {
  if (!is_local_address(target.address())) return {};
  return local_listener_owner(target.port()).value_or(std::string());
}

}  // namespace vhm::proxy
