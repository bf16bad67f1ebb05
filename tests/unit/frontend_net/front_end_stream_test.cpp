// accept_viewer over real loopback sockets, the byte streams: raw RFB after
// silence, the PROXY header, RFB in TLS (with a client certificate), and
// WebSocket: the subprotocol, a binary round trip through the Transport,
// the close codes for text (1003), unmasked (1002) and oversized (1009)
// frames, pings, and wss.
#include <catch2/catch.hpp>

#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <boost/beast/websocket/stream.hpp>

#include "front_end_harness.hpp"
#include "proxy/frontend/ws_transport.hpp"

using namespace vhm;
using namespace vhm::proxy;
using namespace vhm::proxy::frontend;
using namespace vhm::proxy::frontend::test;
namespace websocket = boost::beast::websocket;
using conf::FrontProtocol;

namespace {

conf::Cidr block(const char* text) {
  std::string error;
  auto cidr = conf::parse_cidr(text, error);
  REQUIRE(cidr);
  return *cidr;
}

awaitable<std::string> read_bytes(auto& stream, std::size_t size) {
  std::string bytes(size, '\0');
  co_await asio::async_read(stream, asio::buffer(bytes), asio::use_awaitable);
  co_return bytes;
}

awaitable<std::string> read_some_text(relay::Transport& transport) {
  std::array<char, 4096> chunk;
  const std::size_t n = co_await transport.async_read_some(asio::buffer(chunk), asio::use_awaitable);
  co_return std::string(chunk.data(), n);
}

ssl::context client_tls(const TestCertificates* with_certificate = nullptr) {
  ssl::context context(ssl::context::tls_client);
  context.set_verify_mode(ssl::verify_none);
  if (with_certificate) {
    context.use_certificate_file(with_certificate->client_cert.string(), ssl::context::pem);
    context.use_private_key_file(with_certificate->client_key.string(), ssl::context::pem);
  }
  return context;
}

Accepted& accepted_of(Harness& harness) {
  REQUIRE(harness.run_until([&] { return harness.finished == 1; }));
  REQUIRE(harness.outcome);
  REQUIRE(harness.outcome->has_value());
  return **harness.outcome;
}

// A WebSocket client that finished its handshake and the Transport the front end made.
struct WsPair {
  std::unique_ptr<websocket::stream<tcp::socket>> client;
  websocket::response_type response;
  Accepted* accepted = nullptr;
};

WsPair open_ws(Harness& harness, const char* subprotocols) {
  WsPair pair;
  pair.client = std::make_unique<websocket::stream<tcp::socket>>(harness.connect());
  pair.client->set_option(websocket::stream_base::decorator([subprotocols](websocket::request_type& request) {
    if (*subprotocols) request.set(http::field::sec_websocket_protocol, subprotocols);
  }));
  REQUIRE(harness.run([&]() -> awaitable<void> {
    co_await pair.client->async_handshake(pair.response, "127.0.0.1", "/websockify", asio::use_awaitable);
  }()));
  pair.accepted = &accepted_of(harness);
  pair.client->binary(true);
  return pair;
}

// The close code the client got after reading on until the server closed.
std::uint16_t close_code_seen(Harness& harness, websocket::stream<tcp::socket>& client) {
  boost::system::error_code error;
  REQUIRE(harness.run([&]() -> awaitable<void> {
    boost::beast::flat_buffer buffer;
    auto [failure, n] = co_await client.async_read(buffer, use_tuple);
    (void)n;
    error = failure;
  }()));
  // closed, or the teardown's error when the server dropped the TCP connection first
  CHECK(error);
  return client.reason().code;
}

}  // namespace

TEST_CASE("front end: a client that stays silent is a raw RFB viewer on plain TCP") {
  Harness harness(listener_config({FrontProtocol::rfb, FrontProtocol::ws}));
  REQUIRE(harness.front_end);
  tcp::socket client = harness.connect();
  Accepted& accepted = accepted_of(harness);
  CHECK(accepted.origin.transport == "tcp");
  CHECK(std::string(accepted.transport->name()) == "tcp");
  CHECK(accepted.origin.peer == client.local_endpoint());
  CHECK(harness.run([&]() -> awaitable<void> {
    co_await asio::async_write(*accepted.transport, asio::buffer(std::string("RFB 003.008\n")), asio::use_awaitable);
    const std::string got1 = co_await read_bytes(client, 12);
    CHECK(got1 == "RFB 003.008\n");
  }()));
}

TEST_CASE("front end: a PROXY header from a trusted sender names the client; the stream after it is intact") {
  auto config = listener_config({FrontProtocol::rfb, FrontProtocol::ws});
  config.frontend.proxy_protocol = {block("127.0.0.0/8")};
  Harness harness(config);
  REQUIRE(harness.front_end);
  tcp::socket client = harness.connect();
  asio::write(client, asio::buffer(std::string("PROXY TCP4 192.0.2.9 192.0.2.1 4000 5900\r\nRFB 003.008\n")));
  Accepted& accepted = accepted_of(harness);
  CHECK(accepted.origin.peer == tcp::endpoint(asio::ip::make_address("192.0.2.9"), 4000));
  CHECK(accepted.origin.transport == "tcp");
  CHECK(harness.run([&]() -> awaitable<void> {
    const std::string got2 = co_await read_bytes(*accepted.transport, 12);
    CHECK(got2 == "RFB 003.008\n");
  }()));
}

TEST_CASE("front end: a trusted sender without a PROXY header is refused") {
  auto config = listener_config({FrontProtocol::rfb, FrontProtocol::ws});
  config.frontend.proxy_protocol = {block("127.0.0.0/8")};
  Harness harness(config);
  REQUIRE(harness.front_end);
  LogText log;
  tcp::socket client = harness.connect();
  asio::write(client, asio::buffer(std::string("RFB 003.008\n")));
  REQUIRE(harness.run_until([&] { return harness.finished == 1; }));
  CHECK_FALSE(harness.outcome->has_value());
  CHECK(log.str().find("invalid PROXY protocol header") != std::string::npos);
}

TEST_CASE("front end: plain RFB on a TLS-only listener is refused with a clear line") {
  Harness harness(listener_config({FrontProtocol::tls, FrontProtocol::ws}));
  REQUIRE(harness.front_end == nullptr);  // no certificate: make_front_end says so
  CHECK(harness.error.rfind("frontend_tls: ", 0) == 0);
  ScratchDir dir;
  TestCertificates certificates(dir);
  auto config = listener_config({FrontProtocol::tls, FrontProtocol::wss});
  config.frontend.tls.cert = certificates.server_cert;
  config.frontend.tls.key = certificates.server_key;
  Harness tls_only(config);
  REQUIRE(tls_only.front_end);
  LogText log;
  tcp::socket client = tls_only.connect();
  REQUIRE(tls_only.run_until([&] { return tls_only.finished == 1; }));
  CHECK_FALSE(tls_only.outcome->has_value());
  CHECK(log.str().find("plain RFB refused: this listener requires TLS (protocols: tls, wss)") != std::string::npos);
}

TEST_CASE("front end: RFB inside TLS, with the client certificate's CN as the user") {
  ScratchDir dir;
  TestCertificates certificates(dir);
  auto config = listener_config({FrontProtocol::rfb, FrontProtocol::tls, FrontProtocol::ws, FrontProtocol::wss});
  config.frontend.tls.cert = certificates.server_cert;
  config.frontend.tls.key = certificates.server_key;
  config.frontend.tls.client_ca = certificates.client_ca;
  config.frontend.tls.client_cert = conf::ClientCertMode::optional;
  Harness harness(config);
  REQUIRE(harness.front_end);
  auto context = client_tls(&certificates);
  ssl::stream<tcp::socket> client(harness.connect(), context);
  REQUIRE(harness.run([&]() -> awaitable<void> {
    co_await client.async_handshake(ssl::stream_base::client, asio::use_awaitable);
  }()));
  Accepted& accepted = accepted_of(harness);
  CHECK(accepted.origin.transport == "tls");
  CHECK(std::string(accepted.transport->name()) == "tls");
  CHECK(accepted.origin.cert_user == "alice");
  CHECK(harness.run([&]() -> awaitable<void> {
    co_await asio::async_write(*accepted.transport, asio::buffer(std::string("RFB 003.008\n")), asio::use_awaitable);
    const std::string got3 = co_await read_bytes(client, 12);
    CHECK(got3 == "RFB 003.008\n");
    co_await asio::async_write(client, asio::buffer(std::string("RFB 003.003\n")), asio::use_awaitable);
    const std::string got4 = co_await read_bytes(*accepted.transport, 12);
    CHECK(got4 == "RFB 003.003\n");
    // The end: close_notify, which the client reads as the end of the stream.
    co_spawn(client.get_executor(), accepted.transport->async_end(1000), asio::detached);
    std::array<char, 1> byte;
    auto [error, n] = co_await client.async_read_some(asio::buffer(byte), use_tuple);
    (void)n;
    CHECK(error == asio::error::eof);
  }()));
}

TEST_CASE("front end: a WebSocket that offers binary gets binary, and bytes go both ways through the Transport") {
  Harness harness(listener_config({FrontProtocol::rfb, FrontProtocol::ws}));
  REQUIRE(harness.front_end);
  WsPair ws = open_ws(harness, "binary");
  CHECK(ws.response[http::field::sec_websocket_protocol] == "binary");
  CHECK(ws.accepted->origin.transport == "ws");
  CHECK(std::string(ws.accepted->transport->name()) == "ws");
  CHECK_FALSE(ws.accepted->origin.token_target);
  auto& transport = *ws.accepted->transport;
  CHECK(harness.run([&]() -> awaitable<void> {
    co_await ws.client->async_write(asio::buffer(std::string("hello")), asio::use_awaitable);
    const std::string got5 = co_await read_some_text(transport);
    CHECK(got5 == "hello");
    co_await asio::async_write(transport, asio::buffer(std::string("world")), asio::use_awaitable);
    boost::beast::flat_buffer buffer;
    co_await ws.client->async_read(buffer, asio::use_awaitable);
    CHECK(ws.client->got_binary());
    CHECK(boost::beast::buffers_to_string(buffer.data()) == "world");
    // A Close frame from the transport reaches the browser with its code.
    co_spawn(transport.get_executor(), transport.async_end(1001), asio::detached);
    auto [error, n] = co_await ws.client->async_read(buffer, use_tuple);
    (void)n;
    CHECK(error == websocket::error::closed);
    CHECK(ws.client->reason().code == 1001);
  }()));
}

TEST_CASE("front end: a WebSocket without a subprotocol gets none") {
  Harness harness(listener_config({FrontProtocol::ws}));
  REQUIRE(harness.front_end);
  WsPair ws = open_ws(harness, "");
  CHECK(ws.response.count(http::field::sec_websocket_protocol) == 0);
  CHECK(ws.accepted->origin.transport == "ws");
}

TEST_CASE("front end: a text frame ends the WebSocket with 1003") {
  Harness harness(listener_config({FrontProtocol::ws}));
  REQUIRE(harness.front_end);
  WsPair ws = open_ws(harness, "binary");
  auto& transport = *ws.accepted->transport;
  boost::system::error_code read_error;
  CHECK(harness.run([&]() -> awaitable<void> {
    ws.client->text(true);
    co_await ws.client->async_write(asio::buffer(std::string("hi")), asio::use_awaitable);
    std::array<char, 64> chunk;
    auto [error, n] = co_await transport.async_read_some(asio::buffer(chunk), use_tuple);
    (void)n;
    read_error = error;
  }()));
  CHECK(read_error == text_frame_error());
  CHECK(transport.describe(read_error) == "WebSocket: text frame");
  CHECK(transport.ending(read_error) == relay::Transport::Ending::protocol_error);
  CHECK(close_code_seen(harness, *ws.client) == 1003);
}

TEST_CASE("front end: an unmasked frame from the browser ends the WebSocket with 1002") {
  Harness harness(listener_config({FrontProtocol::ws}));
  REQUIRE(harness.front_end);
  WsPair ws = open_ws(harness, "binary");
  auto& transport = *ws.accepted->transport;
  boost::system::error_code read_error;
  co_spawn(harness.io, [&]() -> awaitable<void> {
    std::array<char, 64> chunk;
    auto [error, n] = co_await transport.async_read_some(asio::buffer(chunk), use_tuple);
    (void)n;
    read_error = error;
  }, asio::detached);
  const std::uint8_t unmasked[] = {0x82, 0x02, 'h', 'i'};
  asio::write(boost::beast::get_lowest_layer(*ws.client), asio::buffer(unmasked));
  CHECK(close_code_seen(harness, *ws.client) == 1002);
  CHECK(harness.run_until([&] { return bool(read_error); }));
  CHECK(transport.ending(read_error) == relay::Transport::Ending::protocol_error);
}

TEST_CASE("front end: a message over max_message ends the WebSocket with 1009") {
  auto config = listener_config({FrontProtocol::ws});
  config.frontend.web.max_message = 1024;
  Harness harness(config);
  REQUIRE(harness.front_end);
  WsPair ws = open_ws(harness, "binary");
  auto& transport = *ws.accepted->transport;
  boost::system::error_code read_error;
  co_spawn(harness.io, [&]() -> awaitable<void> {
    std::array<char, 4096> chunk;
    for (;;) {
      auto [error, n] = co_await transport.async_read_some(asio::buffer(chunk), use_tuple);
      (void)n;
      if (error) {
        read_error = error;
        co_return;
      }
    }
  }, asio::detached);
  CHECK(harness.run([&]() -> awaitable<void> {
    co_await ws.client->async_write(asio::buffer(std::string(2000, 'x')), asio::use_awaitable);
  }()));
  CHECK(close_code_seen(harness, *ws.client) == 1009);
  CHECK(harness.run_until([&] { return bool(read_error); }));
  CHECK(read_error == websocket::error::message_too_big);
}

TEST_CASE("front end: a ping from the browser is answered while the relay reads") {
  Harness harness(listener_config({FrontProtocol::ws}));
  REQUIRE(harness.front_end);
  WsPair ws = open_ws(harness, "binary");
  auto& transport = *ws.accepted->transport;
  bool pong = false;
  ws.client->control_callback([&](websocket::frame_type kind, boost::beast::string_view) {
    if (kind == websocket::frame_type::pong) pong = true;
  });
  CHECK(harness.run([&]() -> awaitable<void> {
    co_await ws.client->async_ping({}, asio::use_awaitable);
    co_await ws.client->async_write(asio::buffer(std::string("after")), asio::use_awaitable);
    const std::string got6 = co_await read_some_text(transport);
    CHECK(got6 == "after");
    co_await asio::async_write(transport, asio::buffer(std::string("x")), asio::use_awaitable);
    boost::beast::flat_buffer buffer;
    co_await ws.client->async_read(buffer, asio::use_awaitable);
  }()));
  CHECK(pong);
}

TEST_CASE("front end: wss with the listener's certificate, and a round trip") {
  ScratchDir dir;
  TestCertificates certificates(dir);
  auto config = listener_config({FrontProtocol::wss});
  config.frontend.tls.cert = certificates.server_cert;
  config.frontend.tls.key = certificates.server_key;
  Harness harness(config);
  REQUIRE(harness.front_end);
  auto context = client_tls();
  websocket::stream<ssl::stream<tcp::socket>> client(harness.connect(), context);
  websocket::response_type response;
  client.set_option(websocket::stream_base::decorator(
      [](websocket::request_type& request) { request.set(http::field::sec_websocket_protocol, "binary"); }));
  REQUIRE(harness.run([&]() -> awaitable<void> {
    co_await client.next_layer().async_handshake(ssl::stream_base::client, asio::use_awaitable);
    co_await client.async_handshake(response, "localhost", "/websockify", asio::use_awaitable);
  }()));
  Accepted& accepted = accepted_of(harness);
  CHECK(accepted.origin.transport == "wss");
  CHECK(std::string(accepted.transport->name()) == "wss");
  CHECK(accepted.origin.cert_user.empty());
  client.binary(true);
  CHECK(harness.run([&]() -> awaitable<void> {
    co_await asio::async_write(*accepted.transport, asio::buffer(std::string("RFB 003.008\n")), asio::use_awaitable);
    boost::beast::flat_buffer buffer;
    co_await client.async_read(buffer, asio::use_awaitable);
    CHECK(boost::beast::buffers_to_string(buffer.data()) == "RFB 003.008\n");
    co_await client.async_write(asio::buffer(std::string("RFB 003.008\n")), asio::use_awaitable);
    const std::string got7 = co_await read_some_text(*accepted.transport);
    CHECK(got7 == "RFB 003.008\n");
  }()));
}

TEST_CASE("front end: a plain HTTP request where only HTTPS is spoken gets 403 and no session") {
  ScratchDir dir;
  TestCertificates certificates(dir);
  auto config = listener_config({FrontProtocol::rfb, FrontProtocol::wss});
  config.frontend.tls.cert = certificates.server_cert;
  config.frontend.tls.key = certificates.server_key;
  Harness harness(config);
  REQUIRE(harness.front_end);
  LogText log;
  tcp::socket client = harness.connect();
  http::response<http::string_body> response;
  REQUIRE(harness.run([&]() -> awaitable<void> {
    boost::beast::flat_buffer buffer;
    response = co_await exchange(client, buffer, "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
  }()));
  CHECK(response.result() == http::status::forbidden);
  CHECK(response.body() == "this listener speaks HTTPS only (protocols: rfb, wss)\n");
  REQUIRE(harness.run_until([&] { return harness.finished == 1; }));
  CHECK_FALSE(harness.outcome->has_value());
  CHECK(log.str().find("plain HTTP refused: this listener requires TLS for HTTP (protocols: rfb, wss)") !=
        std::string::npos);
}
