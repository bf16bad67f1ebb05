#pragma once
// Ends a handshake watchdog running beside an exchange (`exchange() &&
// handshake_watchdog()`): when the exchange returns, for any reason, the
// watchdog's timer is cancelled so the `&&` completes.
#include "proxy/asio.hpp"

namespace vhm::proxy {

struct CancelOnExit {
  asio::steady_timer& timer;
  ~CancelOnExit() { timer.cancel(); }
};

}  // namespace vhm::proxy
