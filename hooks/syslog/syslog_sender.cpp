#include "hooks/syslog/syslog_sender.hpp"

#include <arpa/inet.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <system_error>
#include <thread>
#include <vector>

#include "conf/address.hpp"
#include "hooks/unique_fd.hpp"

namespace vhm::hooks::syslog {
namespace {

using Clock = SyslogSender::Clock;

std::string errno_text(int error) { return std::generic_category().message(error); }

// Milliseconds left for poll(); 0 once the deadline passed.
int poll_budget(Clock::time_point deadline) {
  const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now()).count();
  return left <= 0 ? 0 : static_cast<int>(std::min<long long>(left, 60'000));
}

// Waits until fd is ready for `events`; false when the deadline passed first.
bool wait_ready(int fd, short events, Clock::time_point deadline) {
  for (;;) {
    pollfd item{fd, events, 0};
    const int budget = poll_budget(deadline);
    const int ready = ::poll(&item, 1, budget);
    if (ready > 0) return true;
    if (ready < 0 && errno == EINTR) continue;
    if (ready == 0 && budget == 0) return false;
    if (ready < 0) return true;  // let the next call report the error
  }
}

struct Address {
  sockaddr_storage storage{};
  socklen_t length = 0;
};

struct Failure {
  std::string error;
  bool timed_out = false;
};

// One address for host:port: an IP literal directly; a name through
// getaddrinfo on a thread of its own, waited for until the deadline (a
// resolver that hangs is left behind, never waited on past it).
std::optional<Address> resolve(const conf::HostPort& target, int socktype, Clock::time_point deadline,
                               Failure& failure) {
  Address address;
  auto* v4 = reinterpret_cast<sockaddr_in*>(&address.storage);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&address.storage);
  if (::inet_pton(AF_INET, target.host.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(target.port);
    address.length = sizeof(sockaddr_in);
    return address;
  }
  if (::inet_pton(AF_INET6, target.host.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(target.port);
    address.length = sizeof(sockaddr_in6);
    return address;
  }
  struct Lookup {
    std::mutex mutex;
    std::condition_variable done_cv;
    bool done = false;
    int status = 0;
    std::optional<Address> found;
  };
  auto lookup = std::make_shared<Lookup>();
  std::thread([lookup, host = target.host, port = std::to_string(target.port), socktype] {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = socktype;
    addrinfo* list = nullptr;
    const int status = ::getaddrinfo(host.c_str(), port.c_str(), &hints, &list);
    std::optional<Address> found;
    if (status == 0 && list != nullptr && list->ai_addrlen <= sizeof(sockaddr_storage)) {
      found.emplace();
      std::memcpy(&found->storage, list->ai_addr, list->ai_addrlen);
      found->length = list->ai_addrlen;
    }
    if (list != nullptr) ::freeaddrinfo(list);
    std::lock_guard lock(lookup->mutex);
    lookup->status = status;
    lookup->found = found;
    lookup->done = true;
    lookup->done_cv.notify_all();
  }).detach();
  std::unique_lock lock(lookup->mutex);
  if (!lookup->done_cv.wait_until(lock, deadline, [&] { return lookup->done; })) {
    failure = {"resolving " + target.host + " took longer than the timeout", true};
    return std::nullopt;
  }
  if (!lookup->found) {
    failure.error = "cannot resolve " + target.host + ": " +
                    (lookup->status != 0 ? ::gai_strerror(lookup->status) : "no address");
    return std::nullopt;
  }
  return lookup->found;
}

// connect() on a non-blocking socket, finished within the deadline.
bool connect_until(int fd, const sockaddr* address, socklen_t length, Clock::time_point deadline,
                   Failure& failure) {
  if (::connect(fd, address, length) == 0) return true;
  if (errno != EINPROGRESS && errno != EAGAIN && errno != EINTR) {
    failure.error = "cannot connect: " + errno_text(errno);
    return false;
  }
  if (!wait_ready(fd, POLLOUT, deadline)) {
    failure = {"connecting took longer than the timeout", true};
    return false;
  }
  int error = 0;
  socklen_t size = sizeof(error);
  if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &size) != 0) error = errno;
  if (error != 0) {
    failure.error = "cannot connect: " + errno_text(error);
    return false;
  }
  return true;
}

int new_socket(int family, int type) { return ::socket(family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0); }

}  // namespace

struct SyslogSender::Connection {
  UniqueFd fd;
  bool stream = false;
};

namespace {

// Opens conn for target; false with failure set.
bool open_connection(const conf::SyslogConfig& target, UniqueFd& fd, bool& stream, Clock::time_point deadline,
                     Failure& failure) {
  if (target.transport == conf::SyslogTransport::unix_socket) {
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    const std::string path = target.socket_path.string();
    if (path.size() >= sizeof(address.sun_path)) {
      failure.error = "socket path too long";
      return false;
    }
    std::memcpy(address.sun_path, path.c_str(), path.size() + 1);
    const auto* raw = reinterpret_cast<const sockaddr*>(&address);
    fd = UniqueFd(new_socket(AF_UNIX, SOCK_DGRAM));
    if (!fd.valid()) {
      failure.error = "cannot create a socket: " + errno_text(errno);
      return false;
    }
    stream = false;
    if (::connect(fd.get(), raw, sizeof(address)) == 0) return true;
    if (errno != EPROTOTYPE) {
      failure.error = "cannot connect: " + errno_text(errno);
      fd.reset();
      return false;
    }
    // A stream socket (syslog-ng's unix-stream, some containers).
    fd = UniqueFd(new_socket(AF_UNIX, SOCK_STREAM));
    stream = true;
    if (fd.valid() && connect_until(fd.get(), raw, sizeof(address), deadline, failure)) return true;
    if (!fd.valid()) failure.error = "cannot create a socket: " + errno_text(errno);
    fd.reset();
    return false;
  }
  const bool tcp = target.transport == conf::SyslogTransport::tcp;
  const auto address = resolve(target.address, tcp ? SOCK_STREAM : SOCK_DGRAM, deadline, failure);
  if (!address) return false;
  fd = UniqueFd(new_socket(address->storage.ss_family, tcp ? SOCK_STREAM : SOCK_DGRAM));
  if (!fd.valid()) {
    failure.error = "cannot create a socket: " + errno_text(errno);
    return false;
  }
  stream = tcp;
  // A connected UDP socket: the kernel reports an ICMP "port unreachable" to it.
  if (connect_until(fd.get(), reinterpret_cast<const sockaddr*>(&address->storage), address->length, deadline,
                    failure))
    return true;
  fd.reset();
  return false;
}

// A stream the peer closed (or reset) since the last message: reading shows it.
bool stream_closed_by_peer(int fd) {
  pollfd item{fd, POLLIN | POLLRDHUP, 0};
  if (::poll(&item, 1, 0) <= 0) return false;
  if (item.revents & (POLLHUP | POLLERR | POLLRDHUP)) return true;
  char discard[512];
  const ssize_t got = ::recv(fd, discard, sizeof(discard), MSG_DONTWAIT);
  return got == 0 || (got < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR);
}

bool send_datagram(int fd, std::string_view message, Clock::time_point deadline, Failure& failure) {
  for (;;) {
    const ssize_t sent = ::send(fd, message.data(), message.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (sent >= 0) break;
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      if (wait_ready(fd, POLLOUT, deadline)) continue;
      failure = {"the receiver's socket stayed full until the timeout", true};
      return false;
    }
    failure.error = "cannot send: " + errno_text(errno);
    return false;
  }
  // A receiver that is down answers with ICMP "port unreachable"; on the
  // same host the error is usually pending by now.
  int error = 0;
  socklen_t size = sizeof(error);
  if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &size) == 0 && error != 0) {
    failure.error = "the receiver refused the message: " + errno_text(error);
    return false;
  }
  return true;
}

bool send_stream(int fd, std::string_view bytes, Clock::time_point deadline, Failure& failure) {
  while (!bytes.empty()) {
    const ssize_t sent = ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (sent > 0) {
      bytes.remove_prefix(static_cast<std::size_t>(sent));
      continue;
    }
    if (sent < 0 && errno == EINTR) continue;
    if (sent < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      if (wait_ready(fd, POLLOUT, deadline)) continue;
      failure = {"the receiver did not read the message before the timeout", true};
      return false;
    }
    failure.error = "cannot send: " + errno_text(sent < 0 ? errno : EPIPE);
    return false;
  }
  return true;
}

}  // namespace

std::string describe_target(const conf::SyslogConfig& target) {
  switch (target.transport) {
    case conf::SyslogTransport::unix_socket: return target.socket_path.string();
    case conf::SyslogTransport::udp: return "udp://" + conf::format_host_port(target.address);
    case conf::SyslogTransport::tcp: return "tcp://" + conf::format_host_port(target.address);
  }
  return "?";
}

SyslogSender::SyslogSender() = default;
SyslogSender::~SyslogSender() = default;

SyslogSender::Outcome SyslogSender::send(const conf::SyslogConfig& target, std::string_view message,
                                         Clock::time_point deadline) {
  std::lock_guard lock(mutex_);
  auto& slot = connections_[describe_target(target)];
  if (!slot) slot = std::make_unique<Connection>();
  Connection& conn = *slot;
  if (conn.fd.valid() && conn.stream && stream_closed_by_peer(conn.fd.get())) conn.fd.reset();

  Failure failure;
  if (!conn.fd.valid() && !open_connection(target, conn.fd, conn.stream, deadline, failure))
    return {false, failure.timed_out, failure.error};

  bool sent = false;
  if (!conn.stream) {
    sent = send_datagram(conn.fd.get(), message, deadline, failure);
  } else if (target.transport == conf::SyslogTransport::tcp) {
    // RFC 6587 octet counting: "LEN SP MSG".
    std::string frame = std::to_string(message.size()) + ' ';
    frame += message;
    sent = send_stream(conn.fd.get(), frame, deadline, failure);
  } else {
    std::string frame(message);
    frame += '\0';  // glibc's syslog(3) on a stream /dev/log
    sent = send_stream(conn.fd.get(), frame, deadline, failure);
  }
  if (sent) return {true, false, {}};
  // Closed on any error: a stream may be mid-frame, a datagram socket may
  // point at a receiver that went away (a restarted journald).
  conn.fd.reset();
  return {false, failure.timed_out, failure.error};
}

}  // namespace vhm::hooks::syslog
