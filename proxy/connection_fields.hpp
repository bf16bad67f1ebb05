#pragma once
// The event fields known the moment a connection is accepted: who, where to,
// on which listener. Sessions start from them; `blocked` events (refused
// before any session exists) consist of them.
#include "hooks/event.hpp"
#include "proxy/asio.hpp"

namespace vhm::proxy {

struct ListenerContext;

hooks::Event connection_fields(const tcp::endpoint& peer, const ListenerContext& listener);

}  // namespace vhm::proxy
