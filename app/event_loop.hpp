#pragma once
// The proxy's io loop. By default it is io_context::run(): the thread sleeps
// in epoll until there is work. With busy polling (global.busy_poll_us), it
// keeps polling for that long after each burst of work before it sleeps: on
// a VM, a sleeping thread's wake-up costs tens of microseconds, and a
// handshake pays one for every message the proxy relays (docs/performance.md,
// "Busy polling"). The trade is CPU: up to that long per burst, less where
// polling does not pay (app/poll_window.hpp). global.handshake_poll_us polls
// only while a session is in its handshake.
#include <chrono>
#include <cstddef>
#include <functional>

#include <boost/asio/io_context.hpp>

namespace vhm::app {

// `busy_poll` is asked before each sleep, so a reload can change it.
void run_event_loop(boost::asio::io_context& io, const std::function<std::chrono::microseconds()>& busy_poll);

// How long to poll before the next sleep: `always_us` (global.busy_poll_us),
// or `handshake_us` (global.handshake_poll_us) if longer while any session
// is in its handshake.
std::chrono::microseconds busy_poll_budget(unsigned always_us, unsigned handshake_us, std::size_t handshakes_in_flight);

}  // namespace vhm::app
