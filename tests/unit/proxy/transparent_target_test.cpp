// Transparent listeners: which original destinations may be relayed
// (allow_targets), which are loops, the words a refused viewer reads, and the
// event fields of a connection with an original destination.
#include <catch2/catch.hpp>

#include <unistd.h>

#include "conf/config.hpp"
#include "policy/refusal_text.hpp"
#include "proxy/connection_fields.hpp"
#include "proxy/session.hpp"
#include "proxy/transparent_loop.hpp"
#include "proxy/transparent_socket.hpp"
#include "proxy/transparent_target.hpp"

using namespace vhm::proxy;
using vhm::conf::Field;
namespace asio = boost::asio;
using tcp = asio::ip::tcp;

namespace {

tcp::endpoint ep(const char* address, std::uint16_t port) { return {asio::ip::make_address(address), port}; }

std::vector<vhm::conf::TargetRule> rules(std::initializer_list<std::string_view> texts) {
  std::vector<vhm::conf::TargetRule> result;
  for (auto text : texts) {
    std::string error;
    auto rule = vhm::conf::parse_target_rule(text, error);
    REQUIRE(rule);
    result.push_back(*rule);
  }
  return result;
}

// A listener on 127.0.0.1:0 with `mode`, its ListenerContext, and one accepted connection.
struct LoopbackListener {
  asio::io_context io;
  tcp::acceptor acceptor{io, ep("127.0.0.1", 0)};
  ListenerContext context;
  tcp::socket client{io};
  tcp::socket accepted{io};

  explicit LoopbackListener(vhm::conf::Transparent mode) {
    context.config.transparent = mode;
    context.config.allow_targets = rules({"127.0.0.0/8", "10.0.0.0/8"});
    context.listen_endpoint = acceptor.local_endpoint();
    client.connect(acceptor.local_endpoint());
    accepted = acceptor.accept();
  }
};

}  // namespace

TEST_CASE("transparent target: allowed only when a rule holds both the address and the port") {
  const auto allow = rules({"10.0.0.0/24:5900-5999", "192.0.2.7:5901", "[2001:db8::/64]:5900"});
  CHECK(target_allowed(allow, ep("10.0.0.9", 5900)));
  CHECK(target_allowed(allow, ep("10.0.0.9", 5999)));
  CHECK_FALSE(target_allowed(allow, ep("10.0.0.9", 5899)));
  CHECK_FALSE(target_allowed(allow, ep("10.0.0.9", 6000)));
  CHECK_FALSE(target_allowed(allow, ep("10.0.1.9", 5901)));
  CHECK(target_allowed(allow, ep("192.0.2.7", 5901)));
  CHECK_FALSE(target_allowed(allow, ep("192.0.2.7", 5902)));
  CHECK_FALSE(target_allowed(allow, ep("192.0.2.8", 5901)));
  CHECK(target_allowed(allow, ep("2001:db8::1", 5900)));
  CHECK_FALSE(target_allowed(allow, ep("2001:db8:1::1", 5900)));
  CHECK_FALSE(target_allowed(allow, ep("2001:db8::1", 5901)));
}

TEST_CASE("transparent target: an IPv4-mapped destination matches IPv4 rules") {
  CHECK(target_allowed(rules({"10.0.0.0/8:5901"}), ep("::ffff:10.1.2.3", 5901)));
  CHECK_FALSE(target_allowed(rules({"[::/0]"}), ep("10.1.2.3", 5901)));
}

TEST_CASE("transparent target: an empty rule list allows nothing") {
  CHECK_FALSE(target_allowed({}, ep("10.0.0.1", 5901)));
}

TEST_CASE("transparent target: the listener's own port on this host is a loop, elsewhere it is not") {
  CHECK(is_own_listener(ep("127.0.0.1", 15900), 15900));
  CHECK(is_own_listener(ep("127.0.0.2", 15900), 15900));  // all of 127/8 is this host
  CHECK(is_own_listener(ep("::ffff:127.0.0.1", 15900), 15900));
  CHECK_FALSE(is_own_listener(ep("127.0.0.1", 5901), 15900));
  CHECK_FALSE(is_own_listener(ep("192.0.2.7", 15900), 15900));  // another host behind the gateway
}

TEST_CASE("transparent target: a direct connection to a redirect listener is refused as a loop") {
  LoopbackListener listener(vhm::conf::Transparent::redirect);
  const auto target = transparent_target(listener.accepted, listener.context);
  CHECK(target.destination == listener.acceptor.local_endpoint());
  REQUIRE(target.refusal);
  CHECK(*target.refusal == vhm::policy::Refusal::target_loop);
  CHECK(target.detail.find("is this listener") != std::string::npos);
}

TEST_CASE("transparent target: under tproxy the local endpoint is the destination; the proxy's own is a loop") {
  LoopbackListener listener(vhm::conf::Transparent::tproxy);
  const auto target = transparent_target(listener.accepted, listener.context);
  CHECK(target.destination == listener.accepted.local_endpoint());
  REQUIRE(target.refusal);
  CHECK(*target.refusal == vhm::policy::Refusal::target_loop);
}

TEST_CASE("transparent loop: a registered wildcard source matches its port from local addresses only") {
  asio::io_context io;
  tcp::socket bound(io, ep("0.0.0.0", 0));  // holds the port so no one else registers it
  const auto port = bound.local_endpoint().port();
  CHECK_FALSE(is_own_source(ep("127.0.0.1", port)));
  {
    OwnSource source;
    source.set(ep("0.0.0.0", port));
    CHECK(is_own_source(ep("127.0.0.1", port)));
    CHECK(is_own_source(ep("::ffff:127.0.0.1", port)));
    CHECK_FALSE(is_own_source(ep("192.0.2.7", port)));
    CHECK_FALSE(is_own_source(ep("127.0.0.1", port == 65535 ? 1 : port + 1)));
    CHECK_FALSE(is_own_source(ep("::1", port)));  // an IPv4 wildcard is not IPv6
  }
  CHECK_FALSE(is_own_source(ep("127.0.0.1", port)));  // unregistered with its owner
}

TEST_CASE("transparent loop: a source bound to a client's address matches that address exactly") {
  OwnSource source;
  source.set(ep("192.0.2.55", 40123));
  CHECK(is_own_source(ep("192.0.2.55", 40123)));
  CHECK_FALSE(is_own_source(ep("192.0.2.56", 40123)));
  source.reset();
  CHECK_FALSE(is_own_source(ep("192.0.2.55", 40123)));
  OwnSource unbound;
  unbound.set(ep("192.0.2.55", 0));  // port 0 is never registered
  CHECK_FALSE(is_own_source(ep("192.0.2.55", 0)));
}

TEST_CASE("transparent socket: a redirect upstream socket is bound to a kernel-chosen port before connecting") {
  asio::io_context io;
  tcp::socket socket(io);
  std::string error;
  const auto source = open_upstream_socket(socket, vhm::conf::Transparent::redirect, ep("127.0.0.1", 5901),
                                           asio::ip::make_address("127.0.0.1"), error);
  INFO(error);
  REQUIRE(source);
  CHECK(socket.is_open());
  CHECK(source->address().is_unspecified());
  CHECK(source->port() != 0);
  CHECK(socket.local_endpoint().port() == source->port());
}

TEST_CASE("transparent socket: a tproxy upstream socket binds to the client's address, or says what it needs") {
  asio::io_context io;
  tcp::socket socket(io);
  std::string error;
  const auto client = asio::ip::make_address("127.0.0.5");
  const auto source =
      open_upstream_socket(socket, vhm::conf::Transparent::tproxy, ep("127.0.0.1", 5901), client, error);
  if (::geteuid() == 0) {  // root has CAP_NET_ADMIN (CI runs as root)
    INFO(error);
    REQUIRE(source);
    CHECK(source->address() == client);
    CHECK(source->port() != 0);
  } else {
    CHECK_FALSE(source);
    CHECK(error.find("CAP_NET_ADMIN") != std::string::npos);
    CHECK_FALSE(socket.is_open());
  }
}

TEST_CASE("transparent socket: a client of another address family cannot be the source") {
  asio::io_context io;
  tcp::socket socket(io);
  std::string error;
  CHECK_FALSE(open_upstream_socket(socket, vhm::conf::Transparent::tproxy, ep("10.0.0.1", 5901),
                                   asio::ip::make_address("2001:db8::1"), error));
  CHECK(error.find("different address families") != std::string::npos);
  CHECK_FALSE(socket.is_open());
}

TEST_CASE("transparent refusals: reason codes and the words the viewer reads") {
  using vhm::policy::Refusal;
  CHECK(vhm::policy::reason_code(Refusal::target_not_allowed) == "target_not_allowed");
  CHECK(vhm::policy::reason_code(Refusal::target_loop) == "target_loop");
  CHECK(vhm::policy::target_refusal_text(Refusal::target_not_allowed, "10.77.2.2:5903") ==
        "Connections to 10.77.2.2:5903 are not allowed");
  CHECK(vhm::policy::target_refusal_text(Refusal::target_loop, "10.77.1.1:15900") ==
        "Connection loop: 10.77.1.1:15900 is this proxy");
  CHECK(vhm::policy::refusal_text(Refusal::target_loop, "192.0.2.1") == "Connection loop: this destination is this proxy");
}

TEST_CASE("transparent fields: target and display come from the original destination") {
  ListenerContext context;
  context.config.transparent = vhm::conf::Transparent::redirect;
  context.config.user = "alice";
  context.listen_text = "0.0.0.0:15900";
  const auto fields = connection_fields(ep("10.77.1.2", 40000), context, ep("10.77.2.2", 5902));
  CHECK(fields[Field::client_ip] == "10.77.1.2");
  CHECK(fields[Field::client_port] == "40000");
  CHECK(fields[Field::listen] == "0.0.0.0:15900");
  CHECK(fields[Field::target_host] == "10.77.2.2");
  CHECK(fields[Field::target_port] == "5902");
  CHECK(fields[Field::display] == ":2");
  CHECK(fields[Field::user] == "alice");

  const auto v6 = connection_fields(ep("2001:db8::2", 40001), context, ep("::ffff:192.0.2.1", 6000));
  CHECK(v6[Field::target_host] == "192.0.2.1");
  CHECK(v6[Field::target_port] == "6000");
  CHECK(v6[Field::display].empty());
}

TEST_CASE("transparent fields: a static listener keeps its configured target") {
  ListenerContext context;
  context.config.target = {"127.0.0.1", 5901};
  const auto fields = connection_fields(ep("127.0.0.1", 40000), context);
  CHECK(fields[Field::target_host] == "127.0.0.1");
  CHECK(fields[Field::target_port] == "5901");
  CHECK(fields[Field::display] == ":1");
}
