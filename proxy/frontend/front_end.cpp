#include "proxy/frontend/front_end.hpp"

#include "proxy/relay/prefixed_transport.hpp"

#include <openssl/ssl.h>

#include <array>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/beast/core/file_posix.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/stream_traits.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/file_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>
#include "util/log.hpp"

#include "conf/duration.hpp"
#include "policy/cidr.hpp"
#include "proxy/endpoint_text.hpp"
#include "proxy/frontend/deadline.hpp"
#include "proxy/frontend/first_bytes.hpp"
#include "proxy/frontend/front_tls.hpp"
#include "proxy/frontend/forwarded.hpp"
#include "proxy/frontend/htpasswd.hpp"
#include "proxy/frontend/http_route.hpp"
#include "proxy/frontend/static_files.hpp"
#include "proxy/frontend/tls_transport.hpp"
#include "proxy/frontend/token_table.hpp"
#include "proxy/frontend/ws_transport.hpp"
#include "proxy/relay/tcp_transport.hpp"
#include "tls/error_text.hpp"
#include "util/printable.hpp"

namespace vhm::proxy::frontend {

namespace ssl = asio::ssl;
namespace beast = boost::beast;
using boost::system::error_code;

class FrontEnd {
 public:
  conf::ListenerConfig config;
  std::optional<ssl::context> tls;  // protocols tls or wss
  std::optional<TokenTable> tokens;
  std::optional<Htpasswd> htpasswd;
  std::optional<StaticRoot> web;
  RouteSettings route;
};

namespace {

using namespace asio::experimental::awaitable_operators;

constexpr std::size_t http_header_limit = 8 * 1024;

// One accepted connection's log prefix.
struct Connection {
  const std::string& listen;
  std::string client;
  void log(const std::string& what) const { spdlog::info("listener {}: client {}: {}", listen, client, what); }
  void debug(const std::string& what) const { spdlog::debug("listener {}: client {}: {}", listen, client, what); }
};

std::string protocols_text(const conf::FrontendConfig& front) {
  std::string text;
  const std::pair<conf::FrontProtocol, const char*> names[] = {
      {conf::FrontProtocol::rfb, "rfb"}, {conf::FrontProtocol::tls, "tls"},
      {conf::FrontProtocol::ws, "ws"},   {conf::FrontProtocol::wss, "wss"}};
  for (const auto& [protocol, name] : names)
    if (front.speaks(protocol)) text += (text.empty() ? "" : ", ") + std::string(name);
  return text;
}

bool single_protocol(const conf::FrontendConfig& front) {
  const unsigned bits = front.protocols;
  return bits != 0 && (bits & (bits - 1)) == 0;
}

bool in_blocks(const std::vector<conf::Cidr>& blocks, const asio::ip::address& address) {
  for (const auto& block : blocks)
    if (policy::contains(block, address)) return true;
  return false;
}

// were consumed), or silence.
// The first bytes inside TLS: "GET " or anything else (kept in `read`, they
awaitable<First> sniff_tls(TlsServerStream& stream, std::chrono::milliseconds timeout, std::string& read) {
  Deadline deadline(stream.get_executor());
  deadline.arm(stream.next_layer(), timeout, Deadline::Action::cancel);
  constexpr std::string_view get = "GET ";
  std::array<char, 4> chunk;
  while (read.size() < get.size()) {
    auto [error, n] = co_await stream.async_read_some(asio::buffer(chunk.data(), get.size() - read.size()), use_tuple);
    if (error) co_return deadline.expired() ? (read.empty() ? First::silence : First::other) : First::closed;
    read.append(chunk.data(), n);
    if (!get.starts_with(read)) co_return First::other;
  }
  co_return First::http;
}

// After an error response: read and drop what the client still sends for a
// moment, so closing does not reset the response away (as admin_server.cpp).
awaitable<void> linger(tcp::socket& socket) {
  error_code ignored;
  socket.shutdown(tcp::socket::shutdown_send, ignored);
  Deadline deadline(socket.get_executor());
  deadline.arm(socket, std::chrono::seconds(1), Deadline::Action::cancel);
  std::array<char, 2048> sink;
  for (std::size_t drained = 0; drained < 64 * 1024;) {
    auto [error, n] = co_await socket.async_read_some(asio::buffer(sink), use_tuple);
    if (error) break;
    drained += n;
  }
}

// A plain HTTP request on a listener that does not speak ws: a short answer.
awaitable<void> refuse_plain_http(tcp::socket& socket, const conf::FrontendConfig& front) {
  const std::string body = front.speaks(conf::FrontProtocol::wss)
                               ? "this listener speaks HTTPS only (protocols: " + protocols_text(front) + ")\n"
                               : "this listener speaks no HTTP (protocols: " + protocols_text(front) + ")\n";
  const std::string response = "HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain; charset=utf-8\r\n"
                               "Connection: close\r\nContent-Length: " +
                               std::to_string(body.size()) + "\r\n\r\n" + body;
  Deadline deadline(socket.get_executor());
  deadline.arm(socket, std::chrono::seconds(1), Deadline::Action::cancel);
  auto [error, n] = co_await asio::async_write(socket, asio::buffer(response), use_tuple);
  (void)n;
  deadline.disarm();
  if (!error) co_await linger(socket);
}

// --- HTTP ---

asio::thread_pool& auth_pool() {
  // bcrypt takes ~100 ms of a core: never on the io thread. Never destroyed:
  // a verification may still run while the process exits.
  static auto* pool = new asio::thread_pool(2);
  return *pool;
}

awaitable<bool> verify_off_thread(std::shared_ptr<FrontEnd> front_end, std::string user, std::string password) {
  co_return co_await asio::async_initiate<decltype(asio::use_awaitable), void(bool)>(
      [&](auto handler) {
        auto work = asio::make_work_guard(asio::get_associated_executor(handler));
        asio::post(auth_pool(), [front_end, user = std::move(user), password = std::move(password),
                                 handler = std::move(handler), work = std::move(work)]() mutable {
          const bool ok = front_end->htpasswd->verify(user, password);
          auto executor = work.get_executor();
          asio::post(executor, [handler = std::move(handler), ok]() mutable { std::move(handler)(ok); });
        });
      },
      asio::use_awaitable);
}

class FrontLookups final : public RouteLookups {
 public:
  explicit FrontLookups(FrontEnd& front_end) : front_end_(front_end) {}
  StaticResult find_file(std::string_view target, std::string_view if_none_match,
                         std::string_view if_modified_since) override {
    if (!front_end_.web) return {};
    return front_end_.web->lookup(target, if_none_match, if_modified_since);
  }
  std::optional<conf::HostPort> find_token(std::string_view token) override {
    if (!front_end_.tokens) return std::nullopt;
    return front_end_.tokens->lookup(token);
  }

 private:
  FrontEnd& front_end_;
};

struct Upgrade {
  HttpRequest request;
  RouteDecision decision;
  std::string http_user;
  std::optional<std::string> forwarded_for;
};

std::string joined(const HttpRequest& request, beast::string_view name) {
  std::string text;
  auto range = request.equal_range(name);
  for (auto it = range.first; it != range.second; ++it)
    text += (text.empty() ? "" : ", ") + std::string(it->value());
  return text;
}

// Writes a response part by part; each part must go out within `timeout`.
template <typename Stream, typename Serializer>
awaitable<std::pair<bool, std::uint64_t>> write_all(Stream& stream, tcp::socket& socket, Serializer& serializer,
                                                    std::chrono::milliseconds timeout) {
  Deadline deadline(socket.get_executor());
  std::uint64_t sent = 0;
  while (!serializer.is_done()) {
    deadline.arm(socket, timeout);
    auto [error, n] = co_await http::async_write_some(stream, serializer, use_tuple);
    if (error) co_return std::pair{false, sent};
    sent += n;
  }
  co_return std::pair{true, sent};
}

// A static file (200 with the file unless HEAD) or 304. Returns whether the
// connection may go on, and the bytes written.
template <typename Stream>
awaitable<std::pair<bool, std::uint64_t>> send_file(Stream& stream, tcp::socket& socket, RouteDecision& decision,
                                                    const HttpRequest& request, std::chrono::milliseconds timeout) {
  beast::file_posix file;
  if (decision.file.file.fd >= 0) file.native_handle(decision.file.file.fd);  // owned from here on
  decision.file.file.fd = -1;
  const bool with_body = decision.status == http::status::ok && request.method() == http::verb::get;
  if (with_body) {
    http::response<http::file_body> response;
    set_file_headers(response.base(), decision, request);
    error_code error;
    response.body().reset(std::move(file), error);
    if (error) co_return std::pair{false, std::uint64_t{0}};
    response.keep_alive(request.keep_alive());
    http::response_serializer<http::file_body> serializer(response);
    co_return co_await write_all(stream, socket, serializer, timeout);
  }
  http::response<http::empty_body> response;
  set_file_headers(response.base(), decision, request);
  response.keep_alive(request.keep_alive());
  http::response_serializer<http::empty_body> serializer(response);
  co_return co_await write_all(stream, socket, serializer, timeout);
}

template <typename Stream>
awaitable<std::pair<bool, std::uint64_t>> send_text(Stream& stream, tcp::socket& socket,
                                                    http::response<http::string_body>& response,
                                                    std::chrono::milliseconds timeout) {
  http::response_serializer<http::string_body> serializer(response);
  co_return co_await write_all(stream, socket, serializer, timeout);
}

// What a failed header read deserves: a response before closing, or none.
std::optional<RouteDecision> read_failure(const error_code& error) {
  RouteDecision decision;
  decision.close = true;
  if (error == http::error::header_limit) {
    decision.status = http::status::request_header_fields_too_large;
    decision.body = "request headers over " + std::to_string(http_header_limit) + " bytes";
    return decision;
  }
  if (error == http::error::end_of_stream || error == http::error::partial_message) return std::nullopt;
  if (error.category() == http::make_error_code(http::error::bad_method).category() ||
      error == http::error::buffer_overflow) {
    decision.status = http::status::bad_request;
    decision.body = "bad request";
    return decision;
  }
  return std::nullopt;
}

// The HTTP request loop of one connection: static files and refusals, until
// an upgrade to hand on (nullopt: the connection is done).
template <typename Stream>
awaitable<std::optional<Upgrade>> serve_http(std::shared_ptr<FrontEnd> front_end, Connection& connection,
                                             Stream& stream, tcp::socket& socket, beast::flat_buffer& buffer) {
  const auto& web = front_end->config.frontend.web;
  const auto timeout = web.request_timeout;
  Deadline deadline(socket.get_executor());
  for (std::size_t served = 0;; ++served) {
    // From the end of the previous response, the whole next request must come within request_timeout.
    deadline.arm(socket, timeout);
    http::request_parser<http::empty_body> parser;
    parser.header_limit(static_cast<std::uint32_t>(http_header_limit));
    auto [error, n] = co_await http::async_read_header(stream, buffer, parser, use_tuple);
    (void)n;
    if (error) {
      deadline.disarm();
      if (deadline.expired()) {
        if (served == 0 || buffer.size() > 0)
          connection.log("no complete HTTP request within " + conf::format_duration(timeout) + "; closed");
        else
          connection.debug("idle HTTP connection closed");
      } else if (auto refusal = read_failure(error)) {
        HttpRequest request;
        request.version(11);
        auto response = text_response(*refusal, request, web.realm);
        response.keep_alive(false);
        connection.log(std::to_string(response.result_int()) + " (" + error.message() + "); closed");
        auto [written, bytes] = co_await send_text(stream, socket, response, timeout);
        (void)bytes;
        if (written) co_await linger(socket);
      } else {
        connection.debug("HTTP connection ended: " + error.message());
      }
      co_return std::nullopt;
    }
    const bool has_body = !parser.is_done();
    HttpRequest request = parser.release();

    bool authenticated = false;
    std::string user;
    if (front_end->route.auth_required) {
      const auto authorization = request[http::field::authorization];
      if (auto credentials = parse_basic_authorization(std::string_view(authorization.data(), authorization.size()))) {
        authenticated = co_await verify_off_thread(front_end, credentials->first, credentials->second);
        if (authenticated) user = std::move(credentials->first);
      }
    }
    if (deadline.expired() || !socket.is_open()) co_return std::nullopt;

    std::optional<std::string> forwarded_for;
    if (!front_end->config.frontend.trusted_proxies.empty()) {
      error_code ignored;
      const auto peer = socket.remote_endpoint(ignored);
      if (!ignored)
        forwarded_for = forwarded_client(address_text(peer.address()), joined(request, "Forwarded"),
                                         joined(request, "X-Forwarded-For"),
                                         front_end->config.frontend.trusted_proxies);
    }
    const std::string client = forwarded_for ? *forwarded_for + " (via " + connection.client + ")" : connection.client;

    FrontLookups lookups(*front_end);
    RouteDecision decision = route_request(request, has_body, authenticated, front_end->route, lookups);
    const std::string method = util::printable(request.method_string(), 16);
    if (decision.kind == RouteKind::upgrade) {
      if (buffer.size() > 0) {  // RFC 6455 4.1: the client waits for 101 before it sends frames
        decision = RouteDecision{};
        decision.status = http::status::bad_request;
        decision.body = "data after the upgrade request";
        decision.close = true;
        decision.log_path = loggable_path(std::string_view(request.target().data(), request.target().size()),
                                          front_end->route.tokens);
      } else {
        deadline.disarm();
        co_return Upgrade{std::move(request), std::move(decision), std::move(user), std::move(forwarded_for)};
      }
    }
    deadline.disarm();  // writing has its own limit: progress every request_timeout
    std::pair<bool, std::uint64_t> sent;
    bool keep_alive = request.keep_alive();
    if (decision.kind == RouteKind::file) {
      sent = co_await send_file(stream, socket, decision, request, timeout);
    } else {
      auto response = text_response(decision, request, web.realm);
      keep_alive = response.keep_alive();
      sent = co_await send_text(stream, socket, response, timeout);
    }
    // A noVNC page load is some 80 files: served files go to the debug log, everything else to info.
    const auto level = decision.kind == RouteKind::file && static_cast<unsigned>(decision.status) < 400
                           ? spdlog::level::debug
                           : spdlog::level::info;
    spdlog::log(level, "listener {}: client {}: {} {} -> {} ({} bytes){}{}", connection.listen, client, method,
                 decision.log_path, static_cast<unsigned>(decision.status), sent.second,
                 user.empty() ? "" : ", user " + util::printable(user, 64),
                 decision.note.empty() ? "" : ": " + decision.note);
    if (!sent.first) co_return std::nullopt;
    if (decision.close) {
      co_await linger(socket);
      co_return std::nullopt;
    }
    if (!keep_alive) {
      error_code ignored;
      socket.shutdown(tcp::socket::shutdown_send, ignored);
      co_return std::nullopt;
    }
  }
}

WsSettings ws_settings(const conf::ListenerConfig& config, const RouteDecision& decision) {
  WsSettings settings;
  settings.handshake_timeout = std::chrono::duration_cast<std::chrono::milliseconds>(config.handshake_timeout);
  settings.heartbeat = config.frontend.web.heartbeat;
  settings.idle_timeout = config.frontend.web.idle_timeout;
  settings.max_message = config.frontend.web.max_message;
  settings.subprotocol = decision.subprotocol;
  return settings;
}

// HTTP on `stream` (the plain socket or TLS), then the WebSocket.
template <typename Stream>
awaitable<std::optional<Accepted>> http_then_websocket(std::shared_ptr<FrontEnd> front_end, Connection& connection,
                                                       Stream stream, ViewerOrigin origin, std::string first_bytes) {
  tcp::socket& socket = beast::get_lowest_layer(stream);
  beast::flat_buffer buffer(http_header_limit + 1024);
  if (!first_bytes.empty()) {
    auto room = buffer.prepare(first_bytes.size());
    asio::buffer_copy(room, asio::buffer(first_bytes));
    buffer.commit(first_bytes.size());
  }
  auto upgrade = co_await serve_http(front_end, connection, stream, socket, buffer);
  if (!upgrade) co_return std::nullopt;
  constexpr bool tls = !std::is_same_v<Stream, tcp::socket>;
  auto accepted =
      co_await accept_websocket(std::move(stream), upgrade->request, ws_settings(front_end->config, upgrade->decision));
  const auto& decision = upgrade->decision;
  std::string note;
  if (!decision.token.empty()) note += ", token " + decision.token;
  if (!upgrade->http_user.empty()) note += ", user " + util::printable(upgrade->http_user, 64);
  if (!decision.subprotocol.empty()) note += ", subprotocol " + decision.subprotocol;
  if (!accepted.transport) {
    connection.log("GET " + decision.log_path + ": " + accepted.error);
    co_return std::nullopt;
  }
  if (upgrade->forwarded_for) {
    error_code bad;
    const auto address = asio::ip::make_address(*upgrade->forwarded_for, bad);
    if (!bad) origin.peer = tcp::endpoint(address, 0);
  }
  connection.log("GET " + decision.log_path + " -> 101 (" + (tls ? "wss" : "ws") + note + ")");
  origin.transport = tls ? "wss" : "ws";
  origin.token_target = decision.token_target;
  origin.token = decision.token;
  origin.http_user = upgrade->http_user;
  origin.origin = decision.origin;
  co_return Accepted{std::move(accepted.transport), std::move(origin)};
}

awaitable<std::optional<Accepted>> run_tls(std::shared_ptr<FrontEnd> front_end, Connection& connection,
                                           tcp::socket socket, ViewerOrigin origin) {
  const auto& config = front_end->config;
  const auto& front = config.frontend;
  TlsServerStream stream(std::move(socket), *front_end->tls);
  Deadline deadline(stream.get_executor());
  deadline.arm(stream.next_layer(), config.handshake_timeout);
  auto [error] = co_await stream.async_handshake(ssl::stream_base::server, use_tuple);
  deadline.disarm();
  if (error) {
    connection.log(deadline.expired() ? "TLS handshake not done within " + conf::format_duration(config.handshake_timeout)
                                      : "TLS handshake failed: " + tls::describe_error(error, stream.native_handle()));
    error_code ignored;
    stream.next_layer().close(ignored);
    co_return std::nullopt;
  }
  origin.cert_user = certificate_user(stream.native_handle());
  First first = front.speaks(conf::FrontProtocol::wss) ? First::http : First::silence;
  std::string read;
  if (front.speaks(conf::FrontProtocol::tls) && front.speaks(conf::FrontProtocol::wss))
    first = co_await sniff_tls(stream, front.sniff_timeout, read);
  if (first == First::closed) {
    connection.log("closed after the TLS handshake");
    co_return std::nullopt;
  }
  if (first == First::http)
    co_return co_await http_then_websocket(front_end, connection, std::move(stream), std::move(origin), read);
  if (!front.speaks(conf::FrontProtocol::tls)) {
    connection.log("RFB over TLS refused: this listener expects HTTPS (protocols: " + protocols_text(front) + ")");
    co_return std::nullopt;
  }
  connection.debug("RFB over TLS");
  origin.transport = "tls";
  auto transport = make_tls_server_transport(std::move(stream));
  if (!read.empty())  // RFB bytes read inside TLS while sniffing: handed out first
    transport = std::make_unique<relay::PrefixedTransport>(std::move(transport),
                                                           std::vector<std::uint8_t>(read.begin(), read.end()));
  co_return Accepted{std::move(transport), std::move(origin)};
}

}  // namespace

std::shared_ptr<FrontEnd> make_front_end(const conf::ListenerConfig& config, std::string& error) {
  auto front_end = std::make_shared<FrontEnd>();
  front_end->config = config;
  const auto& front = config.frontend;
  const auto& web = front.web;
  if (front.speaks(conf::FrontProtocol::tls) || front.speaks(conf::FrontProtocol::wss)) {
    std::string why;
    front_end->tls = front_tls_context(front.tls, why);
    if (!front_end->tls) {
      error = "frontend_tls: " + why;
      return nullptr;
    }
  }
  if (!web.tokens.empty()) {
    front_end->tokens.emplace(web.tokens);
    std::string why;
    if (!front_end->tokens->load(why)) {
      error = "tokens: " + why;
      return nullptr;
    }
  }
  if (!web.http_auth.empty()) {
    std::string why;
    front_end->htpasswd = Htpasswd::load(web.http_auth, why);
    if (!front_end->htpasswd) {
      error = "http_auth: " + why;
      return nullptr;
    }
  }
  if (!web.root.empty()) {
    std::string why;
    front_end->web = StaticRoot::open(web.root, why);
    if (!front_end->web) {
      error = "web: " + why;
      return nullptr;
    }
  }
  auto& route = front_end->route;
  route.web_root = front_end->web.has_value();
  route.tokens = front_end->tokens.has_value();
  route.token_from_host = web.token_from_host;
  route.listener_target = config.target.port != 0 || config.transparent != conf::Transparent::off;
  route.auth_required = front_end->htpasswd.has_value();
  route.origins = web.origins;
  return front_end;
}

awaitable<std::optional<Accepted>> accept_viewer(std::shared_ptr<FrontEnd> front_end, tcp::socket socket,
                                                 std::string listen_text) {
  const auto& config = front_end->config;
  const auto& front = config.frontend;
  error_code failure;
  ViewerOrigin origin;
  origin.peer = socket.remote_endpoint(failure);
  if (failure) co_return std::nullopt;  // gone already
  Connection connection{listen_text, endpoint_text(origin.peer)};

  if (in_blocks(front.proxy_protocol, origin.peer.address())) {
    std::string why;
    const auto header =
        co_await read_proxy_header(socket, std::chrono::duration_cast<std::chrono::milliseconds>(config.handshake_timeout), why);
    if (!header) {
      connection.log("refused: " + why + " (its address is in proxy_protocol:)");
      co_return std::nullopt;
    }
    if (header->source_address) {
      const auto address = asio::ip::make_address(*header->source_address, failure);
      if (failure) {
        connection.log("refused: PROXY protocol source address is no IP address");
        co_return std::nullopt;
      }
      origin.peer = tcp::endpoint(address, header->source_port);
      connection.client = endpoint_text(origin.peer) + " (via " + connection.client + ")";
    }
  }

  First first = First::other;
  if (!single_protocol(front)) {
    first = co_await sniff_plain(socket, front.sniff_timeout);
  } else if (front.speaks(conf::FrontProtocol::tls) || front.speaks(conf::FrontProtocol::wss)) {
    first = First::tls;
  } else if (front.speaks(conf::FrontProtocol::ws)) {
    first = First::http;
  }
  const bool rfb = front.speaks(conf::FrontProtocol::rfb);
  const bool any_tls = front.speaks(conf::FrontProtocol::tls) || front.speaks(conf::FrontProtocol::wss);
  switch (first) {
    case First::closed:
      connection.debug("closed before the protocol was known");
      co_return std::nullopt;
    case First::tls:
      if (!any_tls) {
        connection.log("TLS refused: this listener speaks no TLS (protocols: " + protocols_text(front) + ")");
        co_return std::nullopt;
      }
      co_return co_await run_tls(front_end, connection, std::move(socket), std::move(origin));
    case First::http:
      if (front.speaks(conf::FrontProtocol::ws))
        co_return co_await http_then_websocket(front_end, connection, std::move(socket), std::move(origin), {});
      connection.log("plain HTTP refused: this listener " +
                     std::string(front.speaks(conf::FrontProtocol::wss) ? "requires TLS for HTTP" : "speaks no HTTP") +
                     " (protocols: " + protocols_text(front) + ")");
      co_await refuse_plain_http(socket, front);
      co_return std::nullopt;
    case First::other:
    case First::silence:
      break;
  }
  if (!rfb) {
    const bool ws = front.speaks(conf::FrontProtocol::ws);
    const std::string needs = any_tls && ws ? "TLS or WebSocket" : any_tls ? "TLS" : "WebSocket";
    connection.log("plain RFB refused: this listener requires " + needs + " (protocols: " + protocols_text(front) +
                   ")");
    co_return std::nullopt;
  }
  connection.debug("plain RFB");
  origin.transport = "tcp";
  co_return Accepted{std::make_unique<relay::TcpTransport>(std::move(socket)), std::move(origin)};
}

}  // namespace vhm::proxy::frontend
