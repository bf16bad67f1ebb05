#pragma once
// {user} fallback for local targets: a per-user VNC server (TigerVNC's
// vncserver, x11vnc) runs as its user, so the owner of the socket listening on
// the target port names the desktop's user. Asked of the kernel through
// netlink's sock_diag (listening sockets only, with their owner's uid), else
// read from /proc/net/tcp{,6}, whose "uid" column is the same; no scan of
// /proc/*/fd needed.
#include <boost/asio/ip/address.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace vhm::proxy {

// True when `address` belongs to this host (loopback or a local interface).
bool is_local_address(const boost::asio::ip::address& address);

// uid of the owner of a LISTEN socket on `port`, parsed from the text of
// /proc/net/tcp or /proc/net/tcp6 (exposed for unit tests).
std::optional<unsigned> listener_uid_from_proc_net(std::string_view proc_net_tcp, std::uint16_t port);

// User name owning the TCP listener on `port` of this host, if any.
std::optional<std::string> local_listener_owner(std::uint16_t port);

}  // namespace vhm::proxy
