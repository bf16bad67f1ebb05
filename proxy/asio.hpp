#pragma once
// The Asio names the proxy uses, in one place.
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/v6_only.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace vhm::proxy {
namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using asio::awaitable;
// Completion token that reports errors as values: relay code inspects every
// error_code (to name the side that failed) instead of unwinding.
inline constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);
}  // namespace vhm::proxy
