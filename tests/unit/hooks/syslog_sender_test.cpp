// The syslog transports against receivers on this host: Unix datagram and
// stream sockets, UDP, TCP with octet counting and reconnection, receivers
// that are down or full, and the action's rate-limited failure log.
#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "hook_test_support.hpp"
#include "hooks/syslog/syslog_action.hpp"
#include "hooks/syslog/syslog_sender.hpp"
#include "hooks/unique_fd.hpp"

using namespace vhm;
using namespace vhm::hooks;
using namespace vhm::hooks::test;
using syslog::SyslogSender;

namespace {

SyslogSender::Clock::time_point soon(std::chrono::milliseconds limit = 2000ms) {
  return SyslogSender::Clock::now() + limit;
}

UniqueFd unix_receiver(const std::string& path, int type) {
  UniqueFd fd(::socket(AF_UNIX, type | SOCK_CLOEXEC, 0));
  REQUIRE(fd.valid());
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  std::snprintf(address.sun_path, sizeof(address.sun_path), "%s", path.c_str());
  REQUIRE(::bind(fd.get(), reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0);
  if (type == SOCK_STREAM) REQUIRE(::listen(fd.get(), 4) == 0);
  return fd;
}

// A loopback socket of `type` bound to a kernel-chosen port.
UniqueFd inet_receiver(int type, std::uint16_t& port) {
  UniqueFd fd(::socket(AF_INET, type | SOCK_CLOEXEC, 0));
  REQUIRE(fd.valid());
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::bind(fd.get(), reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0);
  socklen_t length = sizeof(address);
  REQUIRE(::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&address), &length) == 0);
  port = ntohs(address.sin_port);
  if (type == SOCK_STREAM) REQUIRE(::listen(fd.get(), 4) == 0);
  return fd;
}

bool readable(int fd, int ms = 2000) {
  pollfd item{fd, POLLIN, 0};
  return ::poll(&item, 1, ms) == 1;
}

std::string receive_datagram(int fd) {
  REQUIRE(readable(fd));
  char buffer[70000];
  const ssize_t got = ::recv(fd, buffer, sizeof(buffer), 0);
  REQUIRE(got >= 0);
  return std::string(buffer, static_cast<std::size_t>(got));
}

// Reads from a stream until `count` bytes arrived.
std::string receive_bytes(int fd, std::size_t count) {
  std::string data;
  while (data.size() < count) {
    REQUIRE(readable(fd));
    char buffer[4096];
    const ssize_t got = ::recv(fd, buffer, std::min(sizeof(buffer), count - data.size()), 0);
    REQUIRE(got > 0);
    data.append(buffer, static_cast<std::size_t>(got));
  }
  return data;
}

UniqueFd accept_one(int listener) {
  REQUIRE(readable(listener));
  UniqueFd fd(::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC));
  REQUIRE(fd.valid());
  return fd;
}

conf::SyslogConfig unix_target(const std::string& path) {
  conf::SyslogConfig target;
  target.socket_path = path;
  return target;
}

conf::SyslogConfig inet_target(conf::SyslogTransport transport, std::uint16_t port) {
  conf::SyslogConfig target;
  target.transport = transport;
  target.address = {"127.0.0.1", port};
  return target;
}

std::uint16_t closed_port() {
  std::uint16_t port = 0;
  inet_receiver(SOCK_STREAM, port);  // bound, then closed again
  return port;
}

}  // namespace

TEST_CASE("syslog sender: Unix datagram socket, one message per datagram") {
  TempDir dir;
  const auto receiver = unix_receiver(dir.file("log"), SOCK_DGRAM);
  SyslogSender sender;
  REQUIRE(sender.send(unix_target(dir.file("log")), "<85>1 first", soon()).ok);
  REQUIRE(sender.send(unix_target(dir.file("log")), "<85>1 second", soon()).ok);
  CHECK(receive_datagram(receiver.get()) == "<85>1 first");
  CHECK(receive_datagram(receiver.get()) == "<85>1 second");
}

TEST_CASE("syslog sender: a stream /dev/log gets NUL-terminated messages") {
  TempDir dir;
  const auto listener = unix_receiver(dir.file("log"), SOCK_STREAM);
  SyslogSender sender;
  REQUIRE(sender.send(unix_target(dir.file("log")), "one", soon()).ok);
  const auto conn = accept_one(listener.get());
  REQUIRE(sender.send(unix_target(dir.file("log")), "two", soon()).ok);
  CHECK(receive_bytes(conn.get(), 8) == std::string("one\0two\0", 8));
}

TEST_CASE("syslog sender: UDP datagrams") {
  std::uint16_t port = 0;
  const auto receiver = inet_receiver(SOCK_DGRAM, port);
  SyslogSender sender;
  const std::string big(8192, 'x');
  REQUIRE(sender.send(inet_target(conf::SyslogTransport::udp, port), "<85>1 a", soon()).ok);
  REQUIRE(sender.send(inet_target(conf::SyslogTransport::udp, port), big, soon()).ok);
  CHECK(receive_datagram(receiver.get()) == "<85>1 a");
  CHECK(receive_datagram(receiver.get()) == big);
}

TEST_CASE("syslog sender: TCP octet counting on one connection, reconnected after the collector closed it") {
  std::uint16_t port = 0;
  const auto listener = inet_receiver(SOCK_STREAM, port);
  SyslogSender sender;
  const auto target = inet_target(conf::SyslogTransport::tcp, port);
  REQUIRE(sender.send(target, "<85>1 hello", soon()).ok);
  REQUIRE(sender.send(target, "<85>1 caf\xC3\xA9", soon()).ok);
  {
    const auto conn = accept_one(listener.get());
    CHECK(receive_bytes(conn.get(), 14 + 14) == "11 <85>1 hello11 <85>1 caf\xC3\xA9");
  }  // the collector closes the connection
  wait_until([] { return false; }, 100ms);  // let the FIN arrive
  REQUIRE(sender.send(target, "<85>1 again", soon()).ok);
  const auto second = accept_one(listener.get());
  CHECK(receive_bytes(second.get(), 14) == "11 <85>1 again");
}

TEST_CASE("syslog sender: receivers that are down fail at once, and work once they are back") {
  TempDir dir;
  SyslogSender sender;
  auto outcome = sender.send(unix_target(dir.file("missing")), "m", soon());
  CHECK_FALSE(outcome.ok);
  CHECK(outcome.error.find("No such file or directory") != std::string::npos);

  const std::uint16_t tcp_port = closed_port();
  outcome = sender.send(inet_target(conf::SyslogTransport::tcp, tcp_port), "m", soon());
  CHECK_FALSE(outcome.ok);
  CHECK(outcome.error.find("Connection refused") != std::string::npos);

  // UDP has no connection: the kernel's "port unreachable" fails the send.
  const std::uint16_t udp_port = closed_port();
  const auto udp = inet_target(conf::SyslogTransport::udp, udp_port);
  const bool first = sender.send(udp, "m", soon()).ok;
  const bool second = sender.send(udp, "m", soon()).ok;
  CHECK_FALSE((first && second));

  const auto receiver = unix_receiver(dir.file("missing"), SOCK_DGRAM);
  CHECK(sender.send(unix_target(dir.file("missing")), "back", soon()).ok);
  CHECK(receive_datagram(receiver.get()) == "back");
}

TEST_CASE("syslog sender: a receiver that stops reading costs at most the timeout") {
  TempDir dir;
  const auto receiver = unix_receiver(dir.file("full"), SOCK_DGRAM);
  SyslogSender sender;
  const std::string message(4000, 'z');
  SyslogSender::Outcome outcome;
  std::chrono::steady_clock::duration took{};
  for (int i = 0; i < 100'000 && (outcome.ok || i == 0); ++i) {
    const auto start = std::chrono::steady_clock::now();
    outcome = sender.send(unix_target(dir.file("full")), message, soon(200ms));
    took = std::chrono::steady_clock::now() - start;
  }
  REQUIRE_FALSE(outcome.ok);
  CHECK(outcome.timed_out);
  CHECK(took >= 150ms);
  CHECK(took < 1000ms);
}

TEST_CASE("syslog action: sends the formatted event; failures give a failed result, logged once per burst") {
  TempDir dir;
  const auto receiver = unix_receiver(dir.file("log"), SOCK_DGRAM);
  conf::HookConfig hook;
  hook.name = "siem";
  hook.action = conf::HookAction::syslog;
  hook.syslog = unix_target(dir.file("log"));
  hook.syslog.facility = 16;
  hook.syslog.message = "user {user} from {client_ip}";
  hook.timeout = 1000ms;
  Event event = make_event(conf::EventKind::auth_failure, "s1");
  event[conf::Field::user] = "bob";
  const HookResult result = run_syslog_action(hook, event);
  CHECK(result.ok());
  const std::string message = receive_datagram(receiver.get());
  CHECK(message.rfind("<132>1 2026-11-23T12:00:00.000Z ", 0) == 0);
  CHECK(message.find(" auth_failure [vnc@32473 event=\"auth_failure\" session_id=\"s1\"") != std::string::npos);
  CHECK(message.substr(message.size() - 26) == "\xEF\xBB\xBFuser bob from 192.0.2.7");

  LogCapture log;
  hook.syslog = unix_target(dir.file("nobody-listens"));
  for (int i = 0; i < 3; ++i) {
    const HookResult failed = run_syslog_action(hook, event);
    CHECK(failed.ran);
    CHECK(failed.exit_code == 1);
    CHECK_FALSE(failed.ok());
  }
  std::size_t warnings = 0;
  for (const auto& line : log.lines())
    if (line.find("syslog to " + dir.file("nobody-listens") + " failed") != std::string::npos) ++warnings;
  CHECK(warnings == 1);

  const auto late = unix_receiver(dir.file("nobody-listens"), SOCK_DGRAM);
  CHECK(run_syslog_action(hook, event).ok());
  CHECK(log.contains("works again after 3 failed message(s)"));
}
