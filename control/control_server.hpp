#pragma once
// The control socket: a unix stream socket on which root (or the proxy's own
// user) asks the running proxy for its sessions and bans, lifts a ban or ends
// a session. One connection = one request line, one response line (see
// protocol.hpp), so there is no session state and nothing to keep alive.
//
// Access control is two layers: the socket file is created mode 0600, and
// every connection's SO_PEERCRED uid must be 0 or the proxy's effective uid.
// Requests run on the io_context's thread, which is why the handler may touch
// io-thread-only proxy state.
#include <chrono>
#include <cstddef>
#include <filesystem>
#include <memory>
#include <string>

#include <boost/asio/io_context.hpp>

#include "control/control_handler.hpp"

namespace vhm::control {

namespace detail {
struct ServerState;  // shared with the connection coroutines (control_server.cpp)
}

struct ControlServerOptions {
  std::size_t max_request_bytes = 4096;         // one request line, newline included
  std::chrono::milliseconds io_timeout{5'000};  // to receive the request; to send the response
  int backlog = 16;
};

class ControlServer {
 public:
  // `handler` must outlive the server or its close(), whichever comes first.
  ControlServer(boost::asio::io_context& io, std::filesystem::path socket_path, ControlHandler& handler,
                ControlServerOptions options = {});
  ~ControlServer();  // close()
  ControlServer(const ControlServer&) = delete;
  ControlServer& operator=(const ControlServer&) = delete;

  // Binds the socket and starts accepting; false with a message on failure.
  // An existing socket file is replaced only when nothing answers on it
  // (stale, left by a crash); a live one means another proxy serves that
  // path, and start() refuses. Anything that is not a socket is left alone.
  // Creates missing parent directories.
  bool start(std::string& error);

  // Stops accepting, cancels open connections (no handler call happens after
  // this) and removes the socket file if it is still the one start() made.
  // Idempotent; call it on shutdown so io_context::run() can return.
  void close();

  const std::filesystem::path& socket_path() const;

 private:
  std::shared_ptr<detail::ServerState> state_;
};

}  // namespace vhm::control
