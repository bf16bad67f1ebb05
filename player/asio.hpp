#pragma once
// The Asio names the player uses (the same choices as proxy/asio.hpp; the
// player sits beside proxy/, not above it).
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/v6_only.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace vhm::player {
namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using asio::awaitable;
// Errors as values: a viewer that leaves is the normal end, not an exception.
inline constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);
}  // namespace vhm::player
