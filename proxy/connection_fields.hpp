#pragma once
// The event fields known the moment a connection is accepted: who, where to,
// on which listener. Sessions start from them; `blocked` events (refused
// before any session exists) consist of them.
#include <optional>

#include "conf/config.hpp"
#include "hooks/event.hpp"
#include "proxy/asio.hpp"

namespace vhm::proxy {

struct ListenerContext;

// `destination`: a transparent listener's target for this connection (its
// original destination); nullopt: `token_target` (browser access: the
// token's target) if set, else the listener's static target. {display} is
// ":N" for target ports 5900+N (N < 100); {user} is the listener's `user:`.
// {proxy_host}, in every event: broker.host_name when `broker:` is set (main
// calls this once, before the first connection), else gethostname().
void set_proxy_host(std::string name);

hooks::Event connection_fields(const tcp::endpoint& peer, const ListenerContext& listener,
                               const std::optional<tcp::endpoint>& destination = std::nullopt,
                               const conf::HostPort* token_target = nullptr);

}  // namespace vhm::proxy
