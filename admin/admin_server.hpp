#pragma once
// The admin HTTP listener (docs/admin-api.md): Beast HTTP/1.1 on the proxy's
// io_context, one coroutine per connection, keep-alive. The routes are
// admin_routes.hpp; this side owns the sockets and the limits that keep a
// hostile or broken client from hurting the proxy:
//   - a whole request (headers and body) must arrive within request_timeout
//     (slowloris), a kept-alive connection may idle for idle_timeout;
//   - headers over header_limit get 431, bodies over body_limit 413, anything
//     unparsable 400, and the connection is closed after each of these;
//   - at most max_connections at once: an idle kept-alive one is closed to
//     make room, else the new one is closed at accept (logged once a second).
// Every handler call happens on the io thread, like the control socket's.
#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>

#include <boost/asio/io_context.hpp>

#include "admin/readiness.hpp"
#include "conf/config.hpp"
#include "control/control_handler.hpp"

namespace vhm::admin {

namespace detail {
struct AdminState;  // shared with the connection coroutines (admin_server.cpp)
}

struct AdminServerOptions {
  std::size_t header_limit = 8 * 1024;
  std::size_t body_limit = 4 * 1024;
  std::size_t max_connections = 64;
};

class AdminServer {
 public:
  using ReadinessProbe = std::function<Readiness()>;

  // `handler` and `readiness` must stay usable until close().
  AdminServer(boost::asio::io_context& io, const conf::AdminConfig& config, control::ControlHandler& handler,
              ReadinessProbe readiness, AdminServerOptions options = {});
  ~AdminServer();  // close()
  AdminServer(const AdminServer&) = delete;
  AdminServer& operator=(const AdminServer&) = delete;

  // Binds config.listen and starts accepting; false with a message naming
  // admin.listen on failure. "admin: listening on ADDR" is logged once the
  // io_context runs.
  bool start(std::string& error);

  // A reload: the token, metrics_need_token and the timeouts apply to the
  // next request; the listen address stays (the caller says a restart is needed).
  void update(const conf::AdminConfig& config);

  // Stops accepting and closes every connection (no handler call after this).
  // Idempotent.
  void close();

  // The bound address ("127.0.0.1:9810"); empty before start().
  std::string address() const;

 private:
  std::shared_ptr<detail::AdminState> state_;
};

}  // namespace vhm::admin
