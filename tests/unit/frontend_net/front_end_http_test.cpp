// accept_viewer over real loopback sockets, the HTTP side: tokens (found,
// unknown, missing), Origin, Basic auth, static files (GET, HEAD, 304, 404,
// traversal), 405, 431, a base64-only upgrade, and a slowloris client.
#include <catch2/catch.hpp>

#include <crypt.h>

#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/websocket/stream.hpp>

#include "front_end_harness.hpp"
#include "proxy/frontend/token_table.hpp"

using namespace vhm;
using namespace vhm::proxy;
using namespace vhm::proxy::frontend;
using namespace vhm::proxy::frontend::test;
using conf::FrontProtocol;

namespace {

constexpr const char* secret_token = "s3cr3t-token-4f2a";

std::string upgrade_request(const std::string& target, const std::string& extra = "") {
  return "GET " + target +
         " HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
         "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n" +
         extra + "\r\n";
}

std::string get_request(const std::string& target, const std::string& extra = "", const char* method = "GET") {
  return std::string(method) + " " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\n" + extra + "\r\n";
}

// One request on a new connection; the response.
http::response<http::string_body> ask(Harness& harness, const std::string& raw, bool head = false) {
  tcp::socket client = harness.connect();
  http::response<http::string_body> response;
  REQUIRE(harness.run([&]() -> awaitable<void> {
    boost::beast::flat_buffer buffer;
    response = co_await exchange(client, buffer, raw, head);
  }()));
  return response;
}

struct WebSite {
  ScratchDir dir;
  // ws alone: no sniffing, so HEAD and POST reach HTTP (on a listener that
  // also speaks rfb only "GET " is taken for HTTP).
  conf::ListenerConfig config = listener_config({FrontProtocol::ws});
  WebSite() {
    dir.write("web/index.html", "<h1>noVNC</h1>\n");
    dir.write("web/app/ui.js", "let ui = 1;\n");
    dir.write("secret.txt", "not for browsers\n");
    config.frontend.web.root = dir.path / "web";
  }
};

}  // namespace

TEST_CASE("front end http: a known token picks its target; the token never reaches the log") {
  ScratchDir dir;
  auto config = listener_config({FrontProtocol::ws});
  config.target = {};
  config.frontend.web.tokens = dir.write("tokens.cfg", std::string(secret_token) + ": 127.0.0.1:5901\n");
  Harness harness(config);
  REQUIRE(harness.front_end);
  LogText log;
  boost::beast::websocket::stream<tcp::socket> client(harness.connect());
  REQUIRE(harness.run([&]() -> awaitable<void> {
    co_await client.async_handshake("127.0.0.1", std::string("/websockify?token=") + secret_token,
                                    asio::use_awaitable);
  }()));
  REQUIRE(harness.run_until([&] { return harness.finished == 1; }));
  REQUIRE(harness.outcome->has_value());
  const auto& origin = (*harness.outcome)->origin;
  REQUIRE(origin.token_target);
  CHECK(origin.token_target->host == "127.0.0.1");
  CHECK(origin.token_target->port == 5901);
  CHECK(origin.token == redact_token(secret_token));
  CHECK(log.str().find(redact_token(secret_token)) != std::string::npos);
  CHECK(log.str().find(secret_token) == std::string::npos);
}

TEST_CASE("front end http: an unknown token is 404 and no session; the path's token is redacted in the log") {
  ScratchDir dir;
  auto config = listener_config({FrontProtocol::ws});
  config.frontend.web.tokens = dir.write("tokens.cfg", "other: 127.0.0.1:5901\n");
  Harness harness(config);
  REQUIRE(harness.front_end);
  LogText log;
  const auto response = ask(harness, upgrade_request(std::string("/") + secret_token));
  CHECK(response.result() == http::status::not_found);
  CHECK(response.body().find(secret_token) == std::string::npos);
  REQUIRE(harness.run_until([&] { return harness.finished == 1; }));
  CHECK_FALSE(harness.outcome->has_value());
  CHECK(log.str().find(secret_token) == std::string::npos);
  CHECK(log.str().find("unknown token " + redact_token(secret_token)) != std::string::npos);
}

TEST_CASE("front end http: no token and no listener target is 404 'token required'") {
  ScratchDir dir;
  auto config = listener_config({FrontProtocol::ws});
  config.target = {};
  config.frontend.web.tokens = dir.write("tokens.cfg", "other: 127.0.0.1:5901\n");
  Harness harness(config);
  REQUIRE(harness.front_end);
  const auto response = ask(harness, upgrade_request("/websockify"));
  CHECK(response.result() == http::status::not_found);
  CHECK(response.body() == "token required\n");
}

TEST_CASE("front end http: an upgrade from an Origin not listed is 403") {
  auto config = listener_config({FrontProtocol::ws});
  config.frontend.web.origins = {"https://vnc.example.org"};
  Harness harness(config);
  REQUIRE(harness.front_end);
  CHECK(ask(harness, upgrade_request("/websockify", "Origin: https://evil.example\r\n")).result() ==
        http::status::forbidden);
  // The listed one is let through (101: the test does not go on with the WebSocket).
  CHECK(ask(harness, upgrade_request("/websockify", "Origin: https://vnc.example.org\r\n")).result() ==
        http::status::switching_protocols);
}

TEST_CASE("front end http: an upgrade offering only base64 is refused with 400") {
  Harness harness(listener_config({FrontProtocol::ws}));
  REQUIRE(harness.front_end);
  const auto response = ask(harness, upgrade_request("/websockify", "Sec-WebSocket-Protocol: base64\r\n"));
  CHECK(response.result() == http::status::bad_request);
}

TEST_CASE("front end http: Basic auth guards files and upgrades alike") {
  WebSite site;
  crypt_data data{};
  const char* hash = crypt_r("secret", "$5$rounds=1000$abcdefgh$", &data);
  REQUIRE(hash);
  site.config.frontend.web.http_auth = site.dir.write("htpasswd", std::string("bob:") + hash + "\n");
  site.config.frontend.web.realm = "VNC \"lab\"";
  Harness harness(site.config);
  REQUIRE(harness.front_end);
  auto refused = ask(harness, get_request("/"));
  CHECK(refused.result() == http::status::unauthorized);
  CHECK(refused[http::field::www_authenticate] == "Basic realm=\"VNC lab\", charset=\"UTF-8\"");
  CHECK(ask(harness, get_request("/", "Authorization: Basic Ym9iOm5vcGU=\r\n")).result() ==  // bob:nope
        http::status::unauthorized);
  CHECK(ask(harness, upgrade_request("/websockify")).result() == http::status::unauthorized);
  const auto served = ask(harness, get_request("/", "Authorization: Basic Ym9iOnNlY3JldA==\r\n"));  // bob:secret
  CHECK(served.result() == http::status::ok);
  CHECK(served.body() == "<h1>noVNC</h1>\n");
}

TEST_CASE("front end http: static files: GET, HEAD, 304, 404, no way out of the root") {
  WebSite site;
  Harness harness(site.config);
  REQUIRE(harness.front_end);
  const auto index = ask(harness, get_request("/"));
  CHECK(index.result() == http::status::ok);
  CHECK(index.body() == "<h1>noVNC</h1>\n");
  CHECK(index[http::field::content_type].starts_with("text/html"));
  CHECK(index["X-Content-Type-Options"] == "nosniff");
  const std::string etag(index[http::field::etag]);
  REQUIRE_FALSE(etag.empty());
  CHECK_FALSE(index[http::field::last_modified].empty());

  const auto head = ask(harness, get_request("/app/ui.js", "", "HEAD"), true);
  CHECK(head.result() == http::status::ok);
  CHECK(head[http::field::content_length] == "12");
  CHECK(head.body().empty());

  CHECK(ask(harness, get_request("/", "If-None-Match: " + etag + "\r\n")).result() == http::status::not_modified);
  CHECK(ask(harness, get_request("/missing.js")).result() == http::status::not_found);
  for (const char* escape : {"/../secret.txt", "/..%2fsecret.txt", "/app/../../secret.txt"}) {
    const auto response = ask(harness, get_request(escape));
    CHECK(response.result() != http::status::ok);
    CHECK(response.body().find("not for browsers") == std::string::npos);
  }
}

TEST_CASE("front end http: a kept-alive connection serves several files") {
  WebSite site;
  Harness harness(site.config);
  REQUIRE(harness.front_end);
  tcp::socket client = harness.connect();
  CHECK(harness.run([&]() -> awaitable<void> {
    boost::beast::flat_buffer buffer;
    auto first = co_await exchange(client, buffer, get_request("/app/ui.js"));
    CHECK(first.body() == "let ui = 1;\n");
    auto second = co_await exchange(client, buffer, get_request("/index.html"));
    CHECK(second.body() == "<h1>noVNC</h1>\n");
  }()));
  CHECK(harness.finished == 0);
}

TEST_CASE("front end http: other methods are 405 with Allow, huge headers 431") {
  WebSite site;
  Harness harness(site.config);
  REQUIRE(harness.front_end);
  const auto post = ask(harness, get_request("/", "Content-Length: 0\r\n", "POST"));
  CHECK(post.result() == http::status::method_not_allowed);
  CHECK(post[http::field::allow] == "GET, HEAD");
  const auto big = ask(harness, get_request("/", "X-Filler: " + std::string(9 * 1024, 'a') + "\r\n"));
  CHECK(big.result() == http::status::request_header_fields_too_large);
  CHECK(ask(harness, get_request("/", "Content-Length: 5\r\n") + "hello").result() ==
        http::status::payload_too_large);
}

TEST_CASE("front end http: a request trickled slower than request_timeout is cut off") {
  WebSite site;
  site.config.frontend.web.request_timeout = std::chrono::milliseconds(400);
  Harness harness(site.config);
  REQUIRE(harness.front_end);
  LogText log;
  tcp::socket client = harness.connect();
  const auto start = std::chrono::steady_clock::now();
  std::optional<std::chrono::steady_clock::duration> closed_after;
  CHECK(harness.run([&]() -> awaitable<void> {
    co_await asio::async_write(client, asio::buffer(std::string("GET / HTTP/1.1\r\n")), asio::use_awaitable);
    asio::steady_timer timer(client.get_executor());
    for (int i = 0; i < 30; ++i) {  // one header byte every 100 ms: never a whole request
      timer.expires_after(std::chrono::milliseconds(100));
      co_await timer.async_wait(asio::use_awaitable);
      auto [error, n] = co_await asio::async_write(client, asio::buffer(std::string("X")), use_tuple);
      (void)n;
      std::array<char, 64> sink;
      boost::system::error_code read_error;
      if (!error && client.available(read_error) == 0 && !read_error) {
        // Nothing to read: peek whether the peer closed.
        const ssize_t got = ::recv(client.native_handle(), sink.data(), sink.size(), MSG_PEEK | MSG_DONTWAIT);
        if (got != 0) continue;
      }
      closed_after = std::chrono::steady_clock::now() - start;
      co_return;
    }
  }()));
  REQUIRE(closed_after);
  CHECK(*closed_after >= std::chrono::milliseconds(350));
  CHECK(*closed_after < std::chrono::milliseconds(1500));
  REQUIRE(harness.run_until([&] { return harness.finished == 1; }));
  CHECK(log.str().find("no complete HTTP request within") != std::string::npos);
}

TEST_CASE("front end http: X-Forwarded-For from a trusted proxy names the client; from others it is ignored") {
  for (const bool trusted : {true, false}) {
    auto config = listener_config({FrontProtocol::ws});
    std::string error;
    config.frontend.trusted_proxies = {*conf::parse_cidr(trusted ? "127.0.0.0/8" : "192.0.2.0/24", error)};
    Harness harness(config);
    REQUIRE(harness.front_end);
    boost::beast::websocket::stream<tcp::socket> client(harness.connect());
    client.set_option(boost::beast::websocket::stream_base::decorator(
        [](boost::beast::websocket::request_type& request) { request.set("X-Forwarded-For", "203.0.113.7"); }));
    REQUIRE(harness.run([&]() -> awaitable<void> {
      co_await client.async_handshake("127.0.0.1", "/websockify", asio::use_awaitable);
    }()));
    REQUIRE(harness.run_until([&] { return harness.finished == 1; }));
    REQUIRE(harness.outcome->has_value());
    const auto address = (*harness.outcome)->origin.peer.address();
    CHECK((address == asio::ip::make_address("203.0.113.7")) == trusted);
  }
}
