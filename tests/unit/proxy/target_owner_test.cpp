#include <catch2/catch.hpp>

#include <pwd.h>
#include <unistd.h>

#include <boost/asio/ip/tcp.hpp>

#include "proxy/target_owner.hpp"

using namespace vhm::proxy;

namespace {
// Captured from /proc/net/tcp on Debian 12 (two listeners, one established socket).
constexpr const char* proc_net_tcp =
    "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"
    "   0: 0100007F:170D 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 31337 1 0000000000000000 100 0 0 10 0\n"
    "   1: 00000000:0016 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 22 1 0000000000000000 100 0 0 10 0\n"
    "   2: 0100007F:170E 0100007F:D431 01 00000000:00000000 00:00000000 00000000   104        0 4711 1 0000000000000000 20 4 30 10 -1\n";
}  // namespace

TEST_CASE("the owner of a listening socket is read from the uid column of /proc/net/tcp") {
  CHECK(listener_uid_from_proc_net(proc_net_tcp, 5901) == 1000u);  // 0x170D
  CHECK(listener_uid_from_proc_net(proc_net_tcp, 22) == 0u);
}

TEST_CASE("established sockets and unknown ports do not name an owner") {
  CHECK_FALSE(listener_uid_from_proc_net(proc_net_tcp, 5902).has_value());  // 0x170E is not LISTEN
  CHECK_FALSE(listener_uid_from_proc_net(proc_net_tcp, 6000).has_value());
  CHECK_FALSE(listener_uid_from_proc_net("", 5901).has_value());
}

TEST_CASE("a real listener on this host is owned by the current user") {
  boost::asio::io_context io;
  boost::asio::ip::tcp::acceptor acceptor(io, {boost::asio::ip::make_address("127.0.0.1"), 0});
  const auto owner = local_listener_owner(acceptor.local_endpoint().port());
  REQUIRE(owner.has_value());
  const passwd* me = getpwuid(getuid());
  REQUIRE(me != nullptr);
  CHECK(*owner == me->pw_name);
}

TEST_CASE("loopback is local, a documentation address is not") {
  CHECK(is_local_address(boost::asio::ip::make_address("127.0.0.1")));
  CHECK(is_local_address(boost::asio::ip::make_address("::1")));
  CHECK_FALSE(is_local_address(boost::asio::ip::make_address("192.0.2.77")));
}
