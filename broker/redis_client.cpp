#include "broker/redis_client.hpp"

#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <array>
#include <optional>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include "util/log.hpp"

#include "conf/redis_url.hpp"
#include "tls/error_text.hpp"
#include "tls/openssl_errors.hpp"

namespace vhm::broker {

namespace asio = boost::asio;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using boost::system::error_code;

namespace {

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);
// Replies are read in pieces of this size; a batch of events is a few of them.
constexpr std::size_t read_chunk = 64 * 1024;
// More unparsed reply than this is a server gone wrong, not a reply we asked for.
constexpr std::size_t max_pending_reply = 512u << 20;

bool is_ip_literal(const std::string& host) {
  error_code ec;
  asio::ip::make_address(host, ec);
  return !ec;
}

}  // namespace

struct RedisClient::Impl {
  Impl(asio::any_io_executor executor, conf::RedisConfig settings, std::string name)
      : executor(std::move(executor)), config(std::move(settings)), purpose(std::move(name)), timer(this->executor) {}

  asio::any_io_executor executor;
  conf::RedisConfig config;
  std::string purpose;
  std::size_t next_address = 0;
  std::string current = "(none)";
  std::string last_error;

  std::optional<tcp::socket> socket;
  std::unique_ptr<ssl::context> tls_context;
  std::unique_ptr<ssl::stream<tcp::socket&>> tls;
  std::unique_ptr<RedisReplyParser> parser;
  std::array<char, read_chunk> buffer{};
  std::size_t pending_bytes = 0;  // fed to the parser since the last whole reply
  bool open = false;

  asio::steady_timer timer;
  bool timed_out = false;

  // Closes the connection when the deadline passes: the operation in flight
  // then completes with an error and the caller sees `timed_out`.
  void arm(std::chrono::milliseconds limit) {
    timed_out = false;
    timer.expires_after(limit);
    timer.async_wait([this](error_code ec) {
      if (ec) return;  // cancelled (done in time), or the client is gone
      timed_out = true;
      if (socket) socket->close(ec);
    });
  }
  void disarm() { timer.cancel(); }

  void drop() {
    error_code ignored;
    if (socket) socket->close(ignored);
    tls.reset();
    socket.reset();
    parser.reset();
    open = false;
  }

  std::string failure(const char* what, const error_code& ec) {
    if (timed_out) return std::string(what) + ": timed out";
    return std::string(what) + ": " + tls::describe_error(ec, tls ? tls->native_handle() : nullptr);
  }

  std::string context_error;
  ssl::context* client_context() {
    if (tls_context) return tls_context.get();
    tls::clear_openssl_errors();
    auto context = std::make_unique<ssl::context>(ssl::context::tls_client);
    SSL_CTX* ctx = context->native_handle();
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    if (config.insecure) {
      context->set_verify_mode(ssl::verify_none);
    } else {
      const bool loaded = config.ca_file.empty()
                              ? SSL_CTX_set_default_verify_paths(ctx) == 1
                              : SSL_CTX_load_verify_locations(ctx, config.ca_file.c_str(), nullptr) == 1;
      if (!loaded) {
        context_error = tls::take_openssl_error("cannot load CA certificates");
        return nullptr;
      }
      context->set_verify_mode(ssl::verify_peer);
    }
    if (!config.cert_file.empty()) {
      if (SSL_CTX_use_certificate_chain_file(ctx, config.cert_file.c_str()) != 1 ||
          SSL_CTX_use_PrivateKey_file(ctx, config.key_file.c_str(), SSL_FILETYPE_PEM) != 1) {
        context_error = tls::take_openssl_error("cannot load the client certificate or key");
        return nullptr;
      }
    }
    tls_context = std::move(context);
    return tls_context.get();
  }

  template <typename Operation>
  auto on_stream(Operation&& operation) {
    return tls ? operation(*tls) : operation(*socket);
  }

  asio::awaitable<error_code> write(const std::string& bytes) {
    arm(config.command_timeout);
    auto [ec, written] = co_await on_stream(
        [&](auto& stream) { return asio::async_write(stream, asio::buffer(bytes), use_tuple); });
    disarm();
    (void)written;
    co_return ec;
  }

  // The next whole reply; reads as much as it needs. `limit`: nullopt waits forever.
  asio::awaitable<std::optional<RedisReply>> read_reply(std::optional<std::chrono::milliseconds> limit,
                                                       error_code& ec) {
    for (;;) {
      if (auto reply = parser->next()) {
        pending_bytes = 0;
        co_return reply;
      }
      if (!parser->error().empty()) {
        last_error = parser->error();
        ec = asio::error::invalid_argument;
        co_return std::nullopt;
      }
      if (limit) arm(*limit);
      auto [read_error, count] = co_await on_stream(
          [&](auto& stream) { return stream.async_read_some(asio::buffer(buffer), use_tuple); });
      if (limit) disarm();
      if (read_error) {
        last_error = read_error == asio::error::eof ? "Redis closed the connection" : failure("reading", read_error);
        ec = read_error;
        co_return std::nullopt;
      }
      pending_bytes += count;
      if (pending_bytes > max_pending_reply || !parser->feed({buffer.data(), count})) {
        last_error = "a Redis reply larger than " + std::to_string(max_pending_reply >> 20) + " MiB";
        ec = asio::error::message_size;
        co_return std::nullopt;
      }
    }
  }

  asio::awaitable<std::vector<RedisReply>> exchange(const std::vector<Command>& commands, error_code& ec) {
    std::string bytes;
    for (const auto& command : commands) bytes += format_command(command);
    if (auto write_error = co_await write(bytes)) {
      last_error = failure("writing", write_error);
      ec = write_error;
      co_return std::vector<RedisReply>{};
    }
    std::vector<RedisReply> replies;
    replies.reserve(commands.size());
    while (replies.size() < commands.size()) {
      auto reply = co_await read_reply(config.command_timeout, ec);
      if (!reply) co_return std::vector<RedisReply>{};
      replies.push_back(std::move(*reply));
    }
    co_return replies;
  }

  asio::awaitable<bool> connect_to(const conf::RedisAddress& address, error_code& ec) {
    current = conf::describe(address);
    tcp::resolver resolver(executor);
    std::vector<tcp::endpoint> endpoints;
    if (is_ip_literal(address.host)) {
      endpoints.emplace_back(asio::ip::make_address(address.host), address.port);
    } else {
      timer.expires_after(config.connect_timeout);
      timer.async_wait([&resolver](error_code wait_error) {
        if (!wait_error) resolver.cancel();
      });
      auto [resolve_error, results] =
          co_await resolver.async_resolve(address.host, std::to_string(address.port), use_tuple);
      timer.cancel();
      if (resolve_error) {
        last_error = "cannot resolve " + address.host + ": " + resolve_error.message();
        ec = resolve_error;
        co_return false;
      }
      for (const auto& entry : results) endpoints.push_back(entry.endpoint());
    }
    socket.emplace(executor);
    arm(config.connect_timeout);
    auto [connect_error, endpoint] = co_await asio::async_connect(*socket, endpoints, use_tuple);
    disarm();
    if (connect_error) {
      last_error = "cannot connect to " + current + ": " + (timed_out ? "timed out" : connect_error.message());
      ec = connect_error;
      co_return false;
    }
    (void)endpoint;
    error_code ignored;
    socket->set_option(tcp::no_delay(true), ignored);
    if (address.tls) {
      ssl::context* context = client_context();
      if (!context) {
        last_error = "TLS to " + current + ": " + context_error;
        ec = asio::error::invalid_argument;
        co_return false;
      }
      tls = std::make_unique<ssl::stream<tcp::socket&>>(*socket, *context);
      SSL* handle = tls->native_handle();
      if (!is_ip_literal(address.host)) SSL_set_tlsext_host_name(handle, address.host.c_str());
      if (!config.insecure) {
        if (is_ip_literal(address.host))
          X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(handle), address.host.c_str());
        else
          SSL_set1_host(handle, address.host.c_str());
      }
      arm(config.connect_timeout);
      auto [handshake_error] = co_await tls->async_handshake(ssl::stream_base::client, use_tuple);
      disarm();
      if (handshake_error) {
        last_error = "TLS handshake with " + current + " failed: " +
                     (timed_out ? std::string("timed out") : tls::describe_error(handshake_error, handle));
        ec = handshake_error;
        co_return false;
      }
    }
    parser = std::make_unique<RedisReplyParser>();
    pending_bytes = 0;
    // AUTH and SELECT in one round trip. The password goes only into the
    // command bytes, never into last_error (Redis's reply does not echo it).
    std::vector<Command> setup;
    if (!config.password.empty()) {
      if (config.user.empty())
        setup.push_back({"AUTH", config.password});
      else
        setup.push_back({"AUTH", config.user, config.password});
    }
    if (address.database != 0) setup.push_back({"SELECT", std::to_string(address.database)});
    setup.push_back({"PING"});
    const auto replies = co_await exchange(setup, ec);
    if (ec) {
      last_error = "no reply from " + current + " (" + last_error + ")";
      co_return false;
    }
    for (const auto& reply : replies)
      if (reply.is_error()) {
        last_error = current + " refused the connection set-up: " + reply.text;
        ec = asio::error::access_denied;
        co_return false;
      }
    co_return true;
  }

  asio::awaitable<bool> ensure_connected(error_code& ec) {
    if (open) co_return true;
    const auto count = config.addresses.size();
    if (count == 0) {
      last_error = "no Redis address configured";
      ec = asio::error::invalid_argument;
      co_return false;
    }
    for (std::size_t attempt = 0; attempt < count; ++attempt) {
      const auto& address = config.addresses[(next_address + attempt) % count];
      ec = {};
      const bool connected = co_await connect_to(address, ec);
      if (connected) {
        next_address = (next_address + attempt) % count;
        open = true;
        spdlog::debug("Redis ({}): connected to {}", purpose, current);
        co_return true;
      }
      drop();
      if (count > 1) spdlog::debug("Redis ({}): {}", purpose, last_error);
    }
    // The next try starts with the address after the one that failed last.
    next_address = (next_address + 1) % count;
    co_return false;
  }

  void failed() {
    drop();
    if (config.addresses.size() > 1) next_address = (next_address + 1) % config.addresses.size();
  }
};

RedisClient::RedisClient(asio::any_io_executor executor, conf::RedisConfig config, std::string purpose)
    : impl_(std::make_unique<Impl>(std::move(executor), std::move(config), std::move(purpose))) {
  // The CA, certificate and key are read now, at start-up, while the process
  // may still read root-only files (the privilege drop comes later). A failure
  // is reported by the first connect.
  const auto& addresses = impl_->config.addresses;
  if (std::any_of(addresses.begin(), addresses.end(), [](const auto& address) { return address.tls; }))
    impl_->client_context();
}

RedisClient::~RedisClient() = default;

asio::awaitable<std::vector<RedisReply>> RedisClient::pipeline(std::vector<Command> commands, error_code& ec) {
  ec = {};
  if (!co_await impl_->ensure_connected(ec)) co_return std::vector<RedisReply>{};
  auto replies = co_await impl_->exchange(commands, ec);
  if (ec) impl_->failed();
  co_return replies;
}

asio::awaitable<RedisReply> RedisClient::command(Command args, error_code& ec) {
  std::vector<Command> one;
  one.push_back(std::move(args));
  auto replies = co_await pipeline(std::move(one), ec);
  if (ec || replies.empty()) co_return RedisReply{};
  co_return std::move(replies.front());
}

asio::awaitable<RedisReply> RedisClient::next_push(error_code& ec) {
  ec = {};
  if (!impl_->open) {
    impl_->last_error = "not connected";
    ec = asio::error::not_connected;
    co_return RedisReply{};
  }
  auto reply = co_await impl_->read_reply(std::nullopt, ec);
  if (!reply) {
    impl_->failed();
    co_return RedisReply{};
  }
  co_return std::move(*reply);
}

asio::awaitable<bool> RedisClient::connect(error_code& ec) {
  ec = {};
  co_return co_await impl_->ensure_connected(ec);
}

bool RedisClient::connected() const { return impl_->open; }
std::string RedisClient::address() const { return impl_->current; }
const std::string& RedisClient::last_error() const { return impl_->last_error; }

void RedisClient::close() {
  impl_->disarm();
  impl_->drop();
}

}  // namespace vhm::broker
