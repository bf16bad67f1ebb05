#include "control/ctl_client.hpp"

#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <cerrno>
#include <cstring>
#include <optional>
#include <ostream>

#include "control/ctl_format.hpp"
#include "control/protocol.hpp"
#include "util/printable.hpp"

namespace vhm::control {
namespace json = boost::json;
namespace {

constexpr std::size_t max_response_bytes = 64 * 1024 * 1024;

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

std::string connect_hint(int error) {
  if (error == EACCES || error == EPERM)
    return "\nthe control socket serves only root and the user the proxy runs as";
  return "\nis vnc-hooks-manager running, and does its configuration set `control: socket:` to this path?";
}

void set_timeouts(int fd, std::chrono::milliseconds timeout) {
  timeval value{};
  value.tv_sec = static_cast<time_t>(timeout.count() / 1000);
  value.tv_usec = static_cast<suseconds_t>((timeout.count() % 1000) * 1000);
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &value, sizeof value);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &value, sizeof value);  // also bounds connect()
}

}  // namespace

std::optional<Request> request_from_words(const std::vector<std::string>& words, std::string& error) {
  if (words.empty()) {
    error = "missing command (sessions, bans, unban ADDRESS or kill SESSION_ID)";
    return std::nullopt;
  }
  const auto command = parse_command(words[0]);
  if (!command) {
    error = "unknown command '" + util::printable(words[0], 64) + "' (sessions, bans, unban ADDRESS or kill SESSION_ID)";
    return std::nullopt;
  }
  const bool takes_argument = *command == Command::unban || *command == Command::kill;
  const std::size_t expected = takes_argument ? 2 : 1;
  if (words.size() != expected || (takes_argument && words[1].empty())) {
    error = takes_argument ? words[0] + " needs exactly one " + (*command == Command::unban ? "ADDRESS" : "SESSION_ID")
                           : words[0] + " takes no arguments";
    return std::nullopt;
  }
  return Request{*command, takes_argument ? words[1] : std::string()};
}

Exchange exchange_line(const std::filesystem::path& socket, std::string_view request_line,
                       std::chrono::milliseconds timeout) {
  Exchange result;
  const std::string& path = socket.native();
  const std::string where = "control socket " + path;
  sockaddr_un address{};
  if (path.empty()) {
    result.error = "no control socket path (give --socket PATH, or --config FILE with `control: socket:` set)";
    return result;
  }
  if (path.size() >= sizeof address.sun_path) {
    result.error = where + ": path too long for a unix socket";
    return result;
  }
  address.sun_family = AF_UNIX;
  std::memcpy(address.sun_path, path.c_str(), path.size() + 1);

  Fd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (fd.get() < 0) {
    result.error = std::string("cannot create a unix socket: ") + std::strerror(errno);
    return result;
  }
  set_timeouts(fd.get(), timeout);
  if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0) {
    const int error = errno;
    result.error = "cannot connect to " + where + ": " + std::strerror(error) + connect_hint(error);
    return result;
  }

  std::string request(request_line);
  request += '\n';
  for (std::size_t sent = 0; sent < request.size();) {
    const ssize_t n = ::send(fd.get(), request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int error = errno;
      // The server may answer and close before reading everything (a request
      // it refuses); its answer is still worth reading.
      if (error == EPIPE || error == ECONNRESET) break;
      result.error = "cannot send the request to " + where + ": " +
                     (error == EAGAIN ? std::string("timed out") : std::strerror(error));
      return result;
    }
    sent += static_cast<std::size_t>(n);
  }

  char buffer[65536];
  for (;;) {
    const auto newline = result.response.find('\n');
    if (newline != std::string::npos) {
      result.response.resize(newline);
      break;
    }
    if (result.response.size() > max_response_bytes) {
      result.error = "response from " + where + " is too large";
      return result;
    }
    const ssize_t n = ::recv(fd.get(), buffer, sizeof buffer, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int error = errno;
      result.error = "no response from " + where + ": " +
                     (error == EAGAIN || error == EWOULDBLOCK
                          ? "timed out after " + std::to_string(timeout.count()) + " ms"
                          : std::string(std::strerror(error)));
      return result;
    }
    if (n == 0) {
      if (result.response.empty()) {
        result.error = where + " closed the connection without a response";
        return result;
      }
      break;
    }
    result.response.append(buffer, static_cast<std::size_t>(n));
  }
  result.ok = true;
  return result;
}

int run_ctl(const CtlOptions& options, std::ostream& out, std::ostream& err) {
  constexpr const char* prefix = "vnc-hooks-manager ctl: ";
  std::string error;
  const auto request = request_from_words(options.words, error);
  if (!request) {
    err << prefix << error << "\nTry 'vnc-hooks-manager ctl --help'.\n";
    return ctl_exit_usage;
  }

  const Exchange exchange = exchange_line(options.socket, request_to_json(*request), options.timeout);
  if (!exchange.ok) {
    err << prefix << exchange.error << '\n';
    return ctl_exit_error;
  }

  json::error_code parse_error;
  const json::value value = json::parse(exchange.response, parse_error);
  const json::object* response = parse_error ? nullptr : value.if_object();
  const json::value* ok = response ? response->if_contains("ok") : nullptr;
  if (!ok || !ok->is_bool()) {
    err << prefix << "unexpected response from control socket " << options.socket.native() << ": "
        << util::printable(exchange.response, 200) << '\n';
    return ctl_exit_error;
  }
  if (options.json) {
    out << exchange.response << '\n';
    return ok->get_bool() ? ctl_exit_ok : ctl_exit_error;
  }
  if (!ok->get_bool()) {
    const json::value* message = response->if_contains("error");
    err << prefix
        << (message && message->is_string() ? util::printable(message->get_string(), 1024)
                                              : std::string("the proxy reported an error"))
        << '\n';
    return ctl_exit_error;
  }
  if (!print_response(request->command, *response, out)) {
    err << prefix << "unexpected response from control socket " << options.socket.native() << ": "
        << util::printable(exchange.response, 200) << '\n';
    return ctl_exit_error;
  }
  return ctl_exit_ok;
}

}  // namespace vhm::control
