#pragma once
// The proxy's io loop. By default it is io_context::run(): the thread sleeps
// in epoll until there is work. With busy polling (global.busy_poll_us), it
// keeps polling for that long after each burst of work before it sleeps: on
// a VM, a sleeping thread's wake-up costs tens of microseconds, and a
// handshake pays one for every message the proxy relays (docs/performance.md,
// "Busy polling"). The trade is CPU: up to that long per burst.
#include <chrono>
#include <functional>

#include <boost/asio/io_context.hpp>

namespace vhm::app {

// `busy_poll` is asked before each sleep, so a reload can change it.
void run_event_loop(boost::asio::io_context& io, const std::function<std::chrono::microseconds()>& busy_poll);

}  // namespace vhm::app
