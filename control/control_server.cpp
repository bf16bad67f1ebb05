#include "control/control_server.hpp"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/experimental/parallel_group.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <cerrno>
#include <cstring>
#include <optional>
#include <set>
#include "util/log.hpp"

#include "control/protocol.hpp"
#include "control/socket_file.hpp"
#include "util/spawn_logged.hpp"
#include "util/printable.hpp"

namespace vhm::control {
namespace asio = boost::asio;
using stream_protocol = asio::local::stream_protocol;
using asio::awaitable;
using boost::system::error_code;

namespace detail {

// Shared with every coroutine, so that a server destroyed while connections
// are still being torn down leaves nothing dangling.
struct ServerState {
  ServerState(asio::io_context& io, std::filesystem::path path, ControlHandler& handler, ControlServerOptions options)
      : io(io), path(std::move(path)), handler(&handler), options(options), acceptor(io) {}

  asio::io_context& io;
  std::filesystem::path path;
  ControlHandler* handler;
  ControlServerOptions options;
  stream_protocol::acceptor acceptor;
  FileIdentity file;
  bool open = false;
  std::set<stream_protocol::socket*> connections;
};

}  // namespace detail

namespace {

using State = detail::ServerState;

struct Peer {
  uid_t uid = 0;
  pid_t pid = 0;
};

std::optional<Peer> peer_of(stream_protocol::socket& socket) {
  ucred credentials{};
  socklen_t length = sizeof credentials;
  if (::getsockopt(socket.native_handle(), SOL_SOCKET, SO_PEERCRED, &credentials, &length) != 0) return std::nullopt;
  return Peer{credentials.uid, credentials.pid};
}

enum class ReadOutcome { line, too_long, timeout, closed };

// Reads one line (newline and a trailing CR removed) within `timeout`. A
// request cut short by EOF still counts as a line, for `printf ... | socat`.
awaitable<ReadOutcome> read_line(stream_protocol::socket& socket, std::string& line, std::size_t max_bytes,
                                 std::chrono::milliseconds timeout) {
  asio::steady_timer timer(socket.get_executor(), timeout);
  auto [order, read_error, bytes, timer_error] =
      co_await asio::experimental::make_parallel_group(
          asio::async_read_until(socket, asio::dynamic_buffer(line, max_bytes), '\n', asio::deferred),
          timer.async_wait(asio::deferred))
          .async_wait(asio::experimental::wait_for_one(), asio::use_awaitable);
  (void)timer_error;
  if (order[0] == 1) co_return ReadOutcome::timeout;
  if (!read_error) {
    line.resize(bytes - 1);
  } else if (read_error == asio::error::not_found) {
    co_return ReadOutcome::too_long;
  } else if (read_error != asio::error::eof || line.empty()) {
    co_return ReadOutcome::closed;
  }
  if (!line.empty() && line.back() == '\r') line.pop_back();
  co_return ReadOutcome::line;
}

awaitable<bool> write_line(stream_protocol::socket& socket, std::string text, std::chrono::milliseconds timeout) {
  text += '\n';
  asio::steady_timer timer(socket.get_executor(), timeout);
  auto [order, write_error, bytes, timer_error] =
      co_await asio::experimental::make_parallel_group(asio::async_write(socket, asio::buffer(text), asio::deferred),
                                                      timer.async_wait(asio::deferred))
          .async_wait(asio::experimental::wait_for_one(), asio::use_awaitable);
  (void)bytes, (void)timer_error;
  co_return order[0] == 0 && !write_error;
}

// Keeps the connection in the server's set while the coroutine runs, so
// close() can cancel it.
class Registration {
 public:
  Registration(State& state, stream_protocol::socket& socket) : state_(state), socket_(socket) {
    state_.connections.insert(&socket_);
  }
  ~Registration() { state_.connections.erase(&socket_); }
  Registration(const Registration&) = delete;
  Registration& operator=(const Registration&) = delete;

 private:
  State& state_;
  stream_protocol::socket& socket_;
};

std::string describe(const Request& request) {
  std::string text(to_string(request.command));
  if (!request.argument.empty()) text += ' ' + util::printable(request.argument, 128);
  return text;
}

awaitable<void> serve(std::shared_ptr<State> state, stream_protocol::socket socket) {
  if (!state->open) co_return;  // accepted just before close(): drop it
  Registration registration(*state, socket);
  const auto timeout = state->options.io_timeout;

  const auto peer = peer_of(socket);
  if (!peer) {
    spdlog::warn("control: cannot read the peer credentials of a connection: {}", std::strerror(errno));
    co_return;
  }
  const uid_t own_uid = ::geteuid();
  if (peer->uid != 0 && peer->uid != own_uid) {
    spdlog::warn("control: refused connection from uid {} (pid {}): only root and uid {} may use {}", peer->uid,
                 peer->pid, own_uid, state->path.native());
    co_await write_line(socket, error_response("permission denied: uid " + std::to_string(peer->uid) +
                                               " may not use this control socket"),
                        timeout);
    co_return;
  }

  std::string line;
  const ReadOutcome outcome = co_await read_line(socket, line, state->options.max_request_bytes, timeout);
  if (!state->open) co_return;
  std::string response;
  switch (outcome) {
    case ReadOutcome::closed:
      spdlog::debug("control: pid {} closed without a request", peer->pid);
      co_return;
    case ReadOutcome::timeout:
      spdlog::warn("control: pid {} sent no complete request within {} ms; closing", peer->pid, timeout.count());
      response = error_response("timed out waiting for the request line");
      break;
    case ReadOutcome::too_long:
      spdlog::warn("control: pid {} sent a request line over {} bytes; refused", peer->pid,
                   state->options.max_request_bytes);
      response = error_response("request line too long (limit " +
                                std::to_string(state->options.max_request_bytes) + " bytes)");
      break;
    case ReadOutcome::line: {
      std::string error;
      const auto request = parse_request(line, error);
      if (!request) {
        spdlog::warn("control: pid {} (uid {}): bad request: {}", peer->pid, peer->uid, error);
        response = error_response(error);
        break;
      }
      try {
        response = execute_request(*request, *state->handler);
      } catch (const std::exception& e) {
        spdlog::error("control: {} failed: {}", describe(*request), e.what());
        response = error_response(std::string("internal error: ") + e.what());
      }
      // unban and kill change state: they are worth an audit line.
      const bool changes_state = request->command == Command::unban || request->command == Command::kill;
      spdlog::log(changes_state ? spdlog::level::info : spdlog::level::debug, "control: uid {} pid {}: {} -> {}",
                  peer->uid, peer->pid, describe(*request), util::printable(response, 200));
      break;
    }
  }
  co_await write_line(socket, std::move(response), timeout);
}

awaitable<void> accept_loop(std::shared_ptr<State> state) {
  while (state->open) {
    auto [error, socket] = co_await state->acceptor.async_accept(asio::as_tuple(asio::use_awaitable));
    if (!state->open) co_return;
    if (error) {
      if (error == asio::error::operation_aborted) co_return;
      spdlog::warn("control: accept on {} failed: {}", state->path.native(), error.message());
      if (error == asio::error::no_descriptors || error == asio::error::no_buffer_space) {
        asio::steady_timer pause(state->io, std::chrono::milliseconds(100));
        co_await pause.async_wait(asio::as_tuple(asio::use_awaitable));
      }
      continue;
    }
    util::spawn_logged(state->io.get_executor(), serve(state, std::move(socket)), "control connection");
  }
}

}  // namespace

ControlServer::ControlServer(asio::io_context& io, std::filesystem::path socket_path, ControlHandler& handler,
                             ControlServerOptions options)
    : state_(std::make_shared<detail::ServerState>(io, std::move(socket_path), handler, options)) {}

ControlServer::~ControlServer() { close(); }

const std::filesystem::path& ControlServer::socket_path() const { return state_->path; }

bool ControlServer::start(std::string& error) {
  detail::ServerState& state = *state_;
  if (state.open) {
    error = "control socket " + state.path.native() + " is already open";
    return false;
  }
  if (!prepare_socket_path(state.path, error)) return false;

  error_code failure;
  const auto fail = [&](const char* what) {
    error = std::string("cannot ") + what + " control socket " + state.path.native() + ": " + failure.message();
    state.acceptor.close(failure);
    return false;
  };
  state.acceptor.open(stream_protocol(), failure);
  if (failure) return fail("create");
  ::fcntl(state.acceptor.native_handle(), F_SETFD, FD_CLOEXEC);
  // The file is born 0600 (no window in which others could connect); the
  // chmod below makes sure whatever the umask machinery did. umask is process
  // wide, so it is restored at once.
  const mode_t previous = ::umask(0177);
  state.acceptor.bind(stream_protocol::endpoint(state.path.native()), failure);
  ::umask(previous);
  if (failure) return fail("bind");
  if (::chmod(state.path.c_str(), 0600) != 0) {
    failure.assign(errno, boost::system::system_category());
    ::unlink(state.path.c_str());
    return fail("set the mode of");
  }
  const auto identity = identity_of(state.path);
  if (identity) state.file = *identity;
  state.acceptor.listen(state.options.backlog, failure);
  if (failure) {
    if (identity) remove_socket_file(state.path, state.file);
    return fail("listen on");
  }

  state.open = true;
  util::spawn_logged(state.io.get_executor(), accept_loop(state_), "control socket accept loop");
  spdlog::info("control: listening on {}", state.path.native());
  return true;
}

void ControlServer::close() {
  detail::ServerState& state = *state_;
  if (!state.open) return;
  state.open = false;
  error_code ignored;
  state.acceptor.close(ignored);
  // close, not cancel: a connection whose next operation has not started yet
  // would miss a cancel and wait for its timeout.
  for (auto* socket : state.connections) socket->close(ignored);
  remove_socket_file(state.path, state.file);
  spdlog::debug("control: closed {}", state.path.native());
}

}  // namespace vhm::control
