#include "admin/admin_server.hpp"

#include <fcntl.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/v6_only.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/asio/steady_timer.hpp>
#include <array>
#include <optional>
#include <set>
#include "util/log.hpp"

#include "admin/admin_routes.hpp"
#include "conf/address.hpp"
#include "conf/duration.hpp"
#include "metrics/registry.hpp"
#include "util/printable.hpp"
#include "util/spawn_logged.hpp"

namespace vhm::admin {
namespace asio = boost::asio;
namespace beast = boost::beast;
using tcp = asio::ip::tcp;
using asio::awaitable;
using boost::system::error_code;

namespace {
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);
// How often "too many admin connections" may reach the log.
constexpr std::chrono::seconds refusal_log_interval{1};
}  // namespace

namespace detail {

// One open connection, on its coroutine's frame.
struct AdminConnection {
  beast::tcp_stream& stream;
  bool idle = false;  // between requests of a kept-alive connection
};

struct AdminState final : Backend {
  AdminState(asio::io_context& io, const conf::AdminConfig& config, control::ControlHandler& handler,
             AdminServer::ReadinessProbe readiness, AdminServerOptions options)
      : io(io), config(config), handler(&handler), probe(std::move(readiness)), options(options), acceptor(io) {
    access = {config.token, config.metrics_need_token};
  }

  control::ControlHandler& control() override { return *handler; }
  Readiness readiness() override { return probe ? probe() : Readiness::ready; }
  std::string metrics_text() override { return metrics::global_registry().render(); }

  asio::io_context& io;
  conf::AdminConfig config;
  AccessRules access;
  control::ControlHandler* handler;
  AdminServer::ReadinessProbe probe;
  AdminServerOptions options;
  tcp::acceptor acceptor;
  std::string address;
  bool open = false;
  std::size_t admitted = 0;  // connections accepted and not yet ended
  std::set<AdminConnection*> connections;
  std::chrono::steady_clock::time_point last_refusal_log{};
  std::size_t refused_since_log = 0;
};

}  // namespace detail

namespace {

using State = detail::AdminState;
using Connection = detail::AdminConnection;

std::string endpoint_text(const tcp::endpoint& endpoint) {
  auto address = endpoint.address();
  if (address.is_v6() && address.to_v6().is_v4_mapped())
    address = asio::ip::make_address_v4(asio::ip::v4_mapped, address.to_v6());
  const std::string host = address.to_string();
  return (address.is_v6() ? "[" + host + "]" : host) + ":" + std::to_string(endpoint.port());
}

// Counts a connection from accept until its coroutine frame is gone, even
// one whose coroutine never ran (the cap must not leak slots).
class Admission {
 public:
  explicit Admission(std::shared_ptr<State> state) : state_(std::move(state)) { ++state_->admitted; }
  Admission(Admission&& other) noexcept : state_(std::move(other.state_)) {}
  Admission& operator=(Admission&&) = delete;
  ~Admission() {
    if (state_) --state_->admitted;
  }

 private:
  std::shared_ptr<State> state_;
};

class Registration {
 public:
  Registration(State& state, Connection& connection) : state_(state), connection_(connection) {
    state_.connections.insert(&connection_);
  }
  ~Registration() { state_.connections.erase(&connection_); }
  Registration(const Registration&) = delete;
  Registration& operator=(const Registration&) = delete;

 private:
  State& state_;
  Connection& connection_;
};

// What a failed read deserves: a response before closing (400, 413, 431),
// or nothing when the peer went away, the server closed, or the request
// timed out (the stream has closed the socket by then: no 408).
std::optional<Response> read_failure_response(const error_code& error, const State& state) {
  if (error == http::error::header_limit)
    return error_response(http::status::request_header_fields_too_large,
                          "request headers over " + std::to_string(state.options.header_limit) + " bytes");
  if (error == http::error::body_limit)
    return error_response(http::status::payload_too_large,
                          "request body over " + std::to_string(state.options.body_limit) + " bytes");
  if (error == http::error::end_of_stream || error == http::error::partial_message) return std::nullopt;
  if (error.category() == http::make_error_code(http::error::bad_method).category() ||
      error == http::error::buffer_overflow)
    return error_response(http::status::bad_request, "bad request: " + error.message());
  return std::nullopt;  // a socket error: nobody to answer
}

// Reads the next request into `parser`. Before a kept-alive connection's
// next request the connection may idle for idle_timeout; from its first byte
// the whole request has request_timeout.
awaitable<error_code> read_request(State& state, Connection& connection, beast::flat_buffer& buffer,
                                   http::request_parser<http::string_body>& parser, bool first) {
  auto& stream = connection.stream;
  if (!first && buffer.size() == 0) {
    connection.idle = true;
    stream.expires_after(state.config.idle_timeout);
    auto [error, bytes] = co_await stream.async_read_some(buffer.prepare(1024), use_tuple);
    connection.idle = false;
    if (error) co_return error == beast::error::timeout ? error_code(http::error::end_of_stream) : error;
    buffer.commit(bytes);
  }
  stream.expires_after(state.config.request_timeout);
  auto [error, bytes] = co_await http::async_read(stream, buffer, parser, use_tuple);
  (void)bytes;
  co_return error;
}

awaitable<bool> write_response(State& state, beast::tcp_stream& stream, Response& response) {
  stream.expires_after(state.config.request_timeout);
  auto [error, bytes] = co_await http::async_write(stream, response, use_tuple);
  (void)bytes;
  co_return !error;
}

// After an error response, before closing: the client may still be sending
// (the rest of a huge header). Closing with unread bytes would send a reset
// that can destroy the response in flight, so read and drop a bounded amount
// first, for at most a second.
awaitable<void> linger(beast::tcp_stream& stream) {
  error_code ignored;
  stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
  stream.expires_after(std::chrono::seconds(1));
  std::array<char, 4096> sink;
  for (std::size_t drained = 0; drained < 64 * 1024;) {
    auto [error, bytes] = co_await stream.async_read_some(asio::buffer(sink), use_tuple);
    if (error) break;
    drained += bytes;
  }
}

Outcome answer(State& state, const Request& request, const std::string& client) {
  try {
    return handle_request(request, state.access, state);
  } catch (const std::exception& e) {
    spdlog::error("admin: {}: {} {} failed: {}", client, util::printable(request.method_string(), 16),
                  util::printable(request.target(), 200), e.what());
    return {error_response(http::status::internal_server_error, "internal error", request.version()), {}};
  }
}

awaitable<void> serve(std::shared_ptr<State> state, Admission admission, tcp::socket socket) {
  (void)admission;
  if (!state->open) co_return;  // accepted just before close()
  error_code ignored;
  const auto peer = socket.remote_endpoint(ignored);
  const std::string client = ignored ? std::string("unknown peer") : endpoint_text(peer);
  beast::tcp_stream stream(std::move(socket));
  Connection connection{stream};
  Registration registration(*state, connection);
  // Room for the largest request the parser accepts, and a pipelined one's start.
  beast::flat_buffer buffer(state->options.header_limit + state->options.body_limit + 4096);

  for (bool first = true;; first = false) {
    http::request_parser<http::string_body> parser;
    parser.header_limit(static_cast<std::uint32_t>(state->options.header_limit));
    parser.body_limit(state->options.body_limit);
    const error_code error = co_await read_request(*state, connection, buffer, parser, first);
    if (!state->open) co_return;
    if (error) {
      if (auto response = read_failure_response(error, *state)) {
        spdlog::info("admin: {}: {} ({}); closing", client, response->result_int(), error.message());
        if (co_await write_response(*state, stream, *response) && state->open) co_await linger(stream);
      } else if (error == beast::error::timeout) {
        spdlog::info("admin: {}: no complete request within {}; closed", client,
                     conf::format_duration(state->config.request_timeout));
      } else {
        spdlog::debug("admin: {}: connection ended: {}", client, error.message());
      }
      break;
    }
    const Request request = parser.release();
    Outcome outcome = answer(*state, request, client);
    if (!outcome.audit.empty()) {
      const bool refused = outcome.response.result() == http::status::unauthorized;
      spdlog::log(refused ? spdlog::level::warn : spdlog::level::info, "admin: {}: {}", client, outcome.audit);
    }
    spdlog::debug("admin: {}: {} {} -> {}", client, util::printable(request.method_string(), 16),
                  util::printable(request.target(), 200), outcome.response.result_int());
    const bool keep_alive = outcome.response.keep_alive();
    if (!co_await write_response(*state, stream, outcome.response) || !keep_alive || !state->open) break;
  }
  if (state->open) stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
}

// Makes room for a new connection: closes one idle kept-alive connection.
bool evict_idle(State& state) {
  for (Connection* connection : state.connections)
    if (connection->idle) {
      connection->stream.close();
      return true;
    }
  return false;
}

void log_refusal(State& state, const std::string& client) {
  ++state.refused_since_log;
  const auto now = std::chrono::steady_clock::now();
  if (now - state.last_refusal_log < refusal_log_interval) return;
  spdlog::warn("admin: {} connection(s) open (the limit): closed the connection from {} ({} refused since the last "
               "such line)",
               state.options.max_connections, client, state.refused_since_log);
  state.last_refusal_log = now;
  state.refused_since_log = 0;
}

awaitable<void> accept_loop(std::shared_ptr<State> state) {
  asio::steady_timer backoff(state->io);
  while (state->open) {
    auto [error, socket] = co_await state->acceptor.async_accept(use_tuple);
    if (!state->open) co_return;
    if (error) {
      if (error == asio::error::operation_aborted) co_return;
      // EMFILE/ENFILE and friends: wait a little instead of spinning.
      spdlog::warn("admin: accept on {} failed: {}", state->address, error.message());
      backoff.expires_after(std::chrono::milliseconds(100));
      co_await backoff.async_wait(use_tuple);
      continue;
    }
    ::fcntl(socket.native_handle(), F_SETFD, FD_CLOEXEC);  // hook processes must not inherit it
    if (state->admitted >= state->options.max_connections && !evict_idle(*state)) {
      error_code ignored;
      const auto peer = socket.remote_endpoint(ignored);
      log_refusal(*state, ignored ? std::string("unknown peer") : endpoint_text(peer));
      socket.close(ignored);
      continue;
    }
    util::spawn_logged(state->io.get_executor(), serve(state, Admission(state), std::move(socket)),
                       "admin connection");
  }
}

bool is_loopback(const tcp::endpoint& endpoint) {
  const auto address = endpoint.address();
  if (address.is_v4()) return address.to_v4().is_loopback();
  const auto v6 = address.to_v6();
  return v6.is_loopback() || (v6.is_v4_mapped() && asio::ip::make_address_v4(asio::ip::v4_mapped, v6).is_loopback());
}

}  // namespace

AdminServer::AdminServer(asio::io_context& io, const conf::AdminConfig& config, control::ControlHandler& handler,
                         ReadinessProbe readiness, AdminServerOptions options)
    : state_(std::make_shared<detail::AdminState>(io, config, handler, std::move(readiness), options)) {}

AdminServer::~AdminServer() { close(); }

std::string AdminServer::address() const { return state_->address; }

bool AdminServer::start(std::string& error) {
  State& state = *state_;
  const auto& listen = state.config.listen;
  error_code failure;
  tcp::endpoint endpoint;
  if (listen.host.empty()) {  // ":port": every address, IPv6 and IPv4 where the host has IPv6
    endpoint = tcp::endpoint(tcp::v6(), listen.port);
    state.acceptor.open(endpoint.protocol(), failure);
    if (failure) {
      endpoint = tcp::endpoint(tcp::v4(), listen.port);
      failure.clear();
      state.acceptor.open(endpoint.protocol(), failure);
    } else {
      state.acceptor.set_option(asio::ip::v6_only(false), failure);
    }
  } else {
    const auto address = asio::ip::make_address(listen.host == "localhost" ? "127.0.0.1" : listen.host, failure);
    if (!failure) {
      endpoint = tcp::endpoint(address, listen.port);
      state.acceptor.open(endpoint.protocol(), failure);
    }
  }
  if (!failure) ::fcntl(state.acceptor.native_handle(), F_SETFD, FD_CLOEXEC);
  if (!failure) state.acceptor.set_option(asio::socket_base::reuse_address(true), failure);
  if (!failure) state.acceptor.bind(endpoint, failure);
  if (!failure) state.acceptor.listen(asio::socket_base::max_listen_connections, failure);
  if (failure) {
    const int line = state.config.listen_line;
    error = "admin.listen" + (line > 0 ? " (line " + std::to_string(line) + ")" : std::string()) +
            ": cannot listen on " + conf::format_host_port(listen) + ": " + failure.message();
    error_code ignored;
    state.acceptor.close(ignored);
    return false;
  }
  const auto bound = state.acceptor.local_endpoint(failure);
  state.address = failure ? conf::format_host_port(listen) : endpoint_text(bound);
  state.open = true;
  util::spawn_logged(state.io.get_executor(), accept_loop(state_), "admin accept loop");
  // Logged once the io thread runs, after the VNC listeners' "listening on"
  // lines: tools that read the first such line as the VNC port stay right.
  const bool open_to_others = state.config.token.empty() && (listen.host.empty() || !is_loopback(endpoint));
  asio::post(state.io, [address = state.address, open_to_others] {
    spdlog::info("admin: listening on {}", address);
    if (open_to_others)
      spdlog::warn("admin: {} is reachable from other hosts and admin.token_file is not set: /metrics, /healthz "
                   "and /readyz are open to them (/sessions and /bans are refused without a token)",
                   address);
  });
  return true;
}

void AdminServer::update(const conf::AdminConfig& config) {
  State& state = *state_;
  const auto listen = state.config.listen;
  state.config = config;
  state.config.listen = listen;
  state.access = {config.token, config.metrics_need_token};
}

void AdminServer::close() {
  State& state = *state_;
  if (!state.open) return;
  state.open = false;
  error_code ignored;
  state.acceptor.close(ignored);
  // close, not cancel: a connection between operations would miss a cancel.
  for (Connection* connection : state.connections) connection->stream.close();
  spdlog::debug("admin: closed {}", state.address);
}

}  // namespace vhm::admin
