// The webhook client: HTTP/1.1 on Boost.Beast over TCP or TLS (OpenSSL),
// one io_context on one thread of its own, so an attempt waiting on a slow
// receiver holds no thread of the dispatcher's and no other hook.
//
// - Keep-alive connections are reused per (scheme, host, port, TLS trust);
//   idle ones are closed after 30 s. A reused connection that fails before
//   any byte of a reply (the receiver closed it meanwhile) is retried once on
//   a fresh connection within the same attempt.
// - The hook's timeout bounds the whole attempt: name resolution, connect,
//   TLS handshake, request and reply.
// - TLS verifies the certificate chain (the system's store, or ca_file) and
//   the host name or IP, unless `insecure: true`; SNI is sent for names.
// - One log line per attempt with scheme://host:port only: a path, query,
//   user-info or header value may be a secret (Slack-style URLs carry the
//   token in the path).
// Beast lives in this file only: its templates are slow to compile.
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include <chrono>
#include <deque>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <thread>

#include "util/log.hpp"

#include "hooks/async_action.hpp"
#include "hooks/webhook/webhook_request.hpp"
#include "tls/contexts.hpp"
#include "tls/error_text.hpp"
#include "tls/openssl_errors.hpp"
#include "util/printable.hpp"

// Unity builds put this file beside the other hooks files: its helpers live
// in a namespace of their own so generic names (Connection, Outcome) never clash.
namespace vhm::hooks::webhook_client {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;
using asio::awaitable;
constexpr auto webhook_tuple = asio::as_tuple(asio::use_awaitable);

constexpr std::size_t max_reply_body = 64 * 1024;
constexpr auto idle_limit = std::chrono::seconds(30);
constexpr auto sweep_interval = std::chrono::seconds(5);
constexpr std::size_t max_idle_per_key = 128;  // above the default 64 in flight: no churn at full load

// Connections are shared only between requests with the same trust settings.
struct PoolKey {
  bool tls = false;
  std::string host;
  std::uint16_t port = 0;
  std::string ca_file;
  bool insecure = false;
  auto operator<=>(const PoolKey&) const = default;
};

struct Connection {
  std::unique_ptr<beast::tcp_stream> plain;
  std::unique_ptr<beast::ssl_stream<beast::tcp_stream>> secure;
  beast::flat_buffer buffer;
  Clock::time_point idle_since{};

  beast::tcp_stream& tcp_layer() { return secure ? beast::get_lowest_layer(*secure) : *plain; }
  void close() {
    beast::error_code ignored;
    tcp_layer().socket().close(ignored);
  }
};

// What one request/reply exchange gave.
struct Exchange {
  beast::error_code error;
  bool reply_started = false;  // a byte of the reply arrived
  bool reusable = false;
  unsigned status = 0;
  std::string body;
};

struct Outcome {
  unsigned status = 0;  // 0: no reply
  std::string body;
  std::string error;  // when status is 0
  bool timed_out = false;
};

std::string host_for_url(const std::string& host) {
  return host.find(':') != std::string::npos ? "[" + host + "]" : host;
}

// scheme://host:port: all of the URL a log line may show.
std::string origin(const WebhookRequest& request) {
  return std::string(request.tls ? "https" : "http") + "://" + util::printable(host_for_url(request.host), 256) + ":" +
         std::to_string(request.port);
}

bool is_ip_literal(const std::string& host) {
  beast::error_code error;
  asio::ip::make_address(host, error);
  return !error;
}

http::request<http::string_body> to_beast(const WebhookRequest& request) {
  http::request<http::string_body> message{http::string_to_verb(request.method), request.target, 11};
  const bool default_port = request.port == (request.tls ? 443 : 80);
  message.set(http::field::host,
              host_for_url(request.host) + (default_port ? "" : ":" + std::to_string(request.port)));
  message.set(http::field::user_agent, "vnc-hooks-manager");
  for (const auto& [name, value] : request.headers) message.insert(name, value);
  message.keep_alive(true);
  if (!request.body.empty() || request.method == "POST" || request.method == "PUT" || request.method == "PATCH") {
    message.body() = request.body;
    message.prepare_payload();
  }
  return message;
}

class WebhookSender final : public AsyncAction {
 public:
  WebhookSender() : work_(asio::make_work_guard(io_)), sweep_timer_(io_) {
    thread_ = std::thread([this] { run(); });
    asio::post(io_, [this] { schedule_sweep(); });
  }

  ~WebhookSender() override { shutdown(); }

  void start(const conf::HookConfig& hook, const Event& event, Done done) override {
    std::string error;
    auto request = build_webhook_request(hook.webhook, event, error);
    const std::string tag = "hook " + util::printable(hook.name) + " [session " +
                            util::printable(event.session_id()) + "]";
    if (!request) {
      spdlog::warn("{} webhook: {}", tag, error);
      HookResult result;
      result.name = hook.name;
      done(std::move(result));
      return;
    }
    PoolKey key{request->tls, request->host, request->port, hook.webhook.ca_file.string(), hook.webhook.insecure};
    const auto deadline = Clock::now() + hook.timeout;
    asio::co_spawn(io_, attempt(std::move(*request), std::move(key), deadline, tag, hook.name, std::move(done)),
                   [tag](std::exception_ptr failure) {
                     if (!failure) return;
                     try {
                       std::rethrow_exception(failure);
                     } catch (const std::exception& e) {
                       spdlog::error("{} webhook attempt failed unexpectedly: {}", tag, e.what());
                     }
                   });
  }

  void shutdown() override {
    std::call_once(shutdown_once_, [this] {
      asio::post(io_, [this] {
        closing_ = true;
        sweep_timer_.cancel();
        for (auto& [key, idle] : pool_)
          for (auto& connection : idle) connection->close();
        pool_.clear();
      });
      work_.reset();
      if (thread_.joinable()) thread_.join();
    });
  }

 private:
  void run() {
    for (;;) {
      try {
        io_.run();
        return;
      } catch (const std::exception& e) {
        spdlog::error("webhook client: {}", e.what());
      }
    }
  }

  void schedule_sweep() {
    if (closing_) return;
    sweep_timer_.expires_after(sweep_interval);
    sweep_timer_.async_wait([this](beast::error_code error) {
      if (error) return;
      const auto now = Clock::now();
      for (auto it = pool_.begin(); it != pool_.end();) {
        auto& idle = it->second;
        while (!idle.empty() && now - idle.front()->idle_since >= idle_limit) {
          idle.front()->close();
          idle.pop_front();
        }
        it = idle.empty() ? pool_.erase(it) : std::next(it);
      }
      schedule_sweep();
    });
  }

  std::unique_ptr<Connection> take_idle(const PoolKey& key) {
    auto it = pool_.find(key);
    if (it == pool_.end() || it->second.empty()) return nullptr;
    auto connection = std::move(it->second.back());  // the most recently used is the least likely stale
    it->second.pop_back();
    return connection;
  }

  void give_back(const PoolKey& key, std::unique_ptr<Connection> connection) {
    auto& idle = pool_[key];
    if (closing_ || idle.size() >= max_idle_per_key) {
      connection->close();
      return;
    }
    connection->idle_since = Clock::now();
    idle.push_back(std::move(connection));
  }

  // One TLS client context per trust setting, built on first use and again
  // when ca_file changed on disk (a renewed CA applies to new connections).
  ssl::context* tls_context(const PoolKey& key, std::string& error) {
    auto& slot = contexts_[{key.ca_file, key.insecure}];
    std::error_code ignored;
    const auto modified = key.ca_file.empty() ? std::filesystem::file_time_type{}
                                              : std::filesystem::last_write_time(key.ca_file, ignored);
    if (slot.context && slot.modified == modified) return slot.context.get();
    tls::clear_openssl_errors();
    auto context = std::make_unique<ssl::context>(ssl::context::tls_client);
    SSL_CTX* ctx = context->native_handle();
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    if (key.insecure) {
      context->set_verify_mode(ssl::verify_none);
    } else {
      const bool loaded = key.ca_file.empty() ? SSL_CTX_set_default_verify_paths(ctx) == 1
                                              : SSL_CTX_load_verify_locations(ctx, key.ca_file.c_str(), nullptr) == 1;
      if (!loaded) {
        error = (key.ca_file.empty() ? std::string("the system's trust store") : key.ca_file) + ": " +
                tls::take_openssl_error("cannot load CA certificates");
        return nullptr;
      }
      context->set_verify_mode(ssl::verify_peer);
    }
    slot = {std::move(context), modified};
    return slot.context.get();
  }

  awaitable<std::unique_ptr<Connection>> connect(const PoolKey& key, Clock::time_point deadline, Outcome& outcome) {
    auto executor = co_await asio::this_coro::executor;
    std::vector<tcp::endpoint> endpoints;
    beast::error_code error;
    const auto address = asio::ip::make_address(key.host, error);
    if (!error) {
      endpoints.emplace_back(address, key.port);
    } else {
      tcp::resolver resolver(executor);
      asio::steady_timer timer(executor, deadline);
      timer.async_wait([&resolver](beast::error_code wait_error) {
        if (!wait_error) resolver.cancel();
      });
      auto [resolve_error, results] =
          co_await resolver.async_resolve(key.host, std::to_string(key.port), webhook_tuple);
      timer.cancel();
      if (resolve_error) {
        outcome.timed_out = Clock::now() >= deadline;
        outcome.error = "cannot resolve the host: " + resolve_error.message();
        co_return nullptr;
      }
      for (const auto& entry : results) endpoints.push_back(entry.endpoint());
    }

    auto connection = std::make_unique<Connection>();
    if (key.tls) {
      ssl::context* context = tls_context(key, outcome.error);
      if (!context) co_return nullptr;
      connection->secure = std::make_unique<beast::ssl_stream<beast::tcp_stream>>(executor, *context);
    } else {
      connection->plain = std::make_unique<beast::tcp_stream>(executor);
    }
    auto& stream = connection->tcp_layer();
    stream.expires_at(deadline);
    auto [connect_error, endpoint] = co_await stream.async_connect(endpoints, webhook_tuple);
    if (connect_error) {
      outcome.timed_out = connect_error == beast::error::timeout;
      outcome.error = "cannot connect: " + connect_error.message();
      co_return nullptr;
    }
    stream.socket().set_option(tcp::no_delay(true), error);
    if (key.tls) {
      SSL* ssl = connection->secure->native_handle();
      tls::set_server_name(ssl, key.host);
      if (!key.insecure) {
        X509_VERIFY_PARAM* param = SSL_get0_param(ssl);
        if (is_ip_literal(key.host))
          X509_VERIFY_PARAM_set1_ip_asc(param, key.host.c_str());
        else
          SSL_set1_host(ssl, key.host.c_str());
      }
      stream.expires_at(deadline);
      auto [handshake_error] = co_await connection->secure->async_handshake(ssl::stream_base::client, webhook_tuple);
      if (handshake_error) {
        outcome.timed_out = handshake_error == beast::error::timeout;
        outcome.error = "TLS handshake failed: " + tls::describe_error(handshake_error, ssl);
        co_return nullptr;
      }
    }
    co_return connection;
  }

  template <typename Stream>
  static awaitable<Exchange> exchange(Stream& stream, Connection& connection,
                                      const http::request<http::string_body>& message, Clock::time_point deadline) {
    Exchange out;
    connection.tcp_layer().expires_at(deadline);
    auto [write_error, written] = co_await http::async_write(stream, message, webhook_tuple);
    if (write_error) {
      out.error = write_error;
      co_return out;
    }
    http::response_parser<http::string_body> parser;
    parser.body_limit(max_reply_body);
    connection.buffer.clear();
    connection.tcp_layer().expires_at(deadline);
    auto [read_error, read] = co_await http::async_read(stream, connection.buffer, parser, webhook_tuple);
    out.reply_started = parser.got_some() || connection.buffer.size() > 0;
    if (read_error && !(read_error == http::error::body_limit && parser.is_header_done())) {
      out.error = read_error;
      co_return out;
    }
    out.status = parser.get().result_int();
    out.body = std::move(parser.get().body());  // empty when over the limit: Beast refuses it unread
    out.reusable = !read_error && parser.get().keep_alive();
    co_return out;
  }

  awaitable<Outcome> deliver(const WebhookRequest& request, const PoolKey& key, Clock::time_point deadline) {
    Outcome outcome;
    const auto message = to_beast(request);
    for (bool fresh_only = false;; fresh_only = true) {
      std::unique_ptr<Connection> connection = fresh_only ? nullptr : take_idle(key);
      const bool reused = connection != nullptr;
      if (!connection) {
        connection = co_await connect(key, deadline, outcome);
        if (!connection) co_return outcome;
      }
      // Two statements: GCC 12 mishandles co_await inside a conditional expression.
      Exchange done;
      if (connection->secure)
        done = co_await exchange(*connection->secure, *connection, message, deadline);
      else
        done = co_await exchange(*connection->plain, *connection, message, deadline);
      if (done.error) {
        connection->close();
        const bool timed_out = done.error == beast::error::timeout;
        if (reused && !done.reply_started && !timed_out && !fresh_only) continue;  // stale keep-alive connection
        outcome.timed_out = timed_out;
        outcome.error = (done.reply_started ? "reading the reply failed: " : "no reply: ") +
                        (connection->secure ? tls::describe_error(done.error, connection->secure->native_handle())
                                            : tls::describe_error(done.error));
        co_return outcome;
      }
      outcome.status = done.status;
      outcome.body = std::move(done.body);
      if (done.reusable)
        give_back(key, std::move(connection));
      else
        connection->close();
      co_return outcome;
    }
  }

  awaitable<void> attempt(WebhookRequest request, PoolKey key, Clock::time_point deadline, std::string tag,
                          std::string name, Done done) {
    const auto started = Clock::now();
    HookResult result;
    result.name = std::move(name);
    result.ran = true;
    result.exit_code = 1;
    try {
      const Outcome outcome = co_await deliver(request, key, deadline);
      const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - started).count();
      result.http_status = static_cast<int>(outcome.status);
      result.timed_out = outcome.timed_out;
      if (outcome.status != 0) result.first_stdout_line = reply_first_line(outcome.body);
      if (outcome.status >= 200 && outcome.status < 300) {
        result.exit_code = 0;
        spdlog::debug("{} webhook {} {}: {} in {} ms", tag, request.method, origin(request), outcome.status, ms);
      } else if (outcome.status != 0) {
        spdlog::warn("{} webhook {} {}: failed with status {} in {} ms", tag, request.method, origin(request),
                     outcome.status, ms);
      } else if (outcome.timed_out) {
        spdlog::warn("{} webhook {} {}: timed out after {} ms ({})", tag, request.method, origin(request), ms,
                     outcome.error);
      } else {
        spdlog::warn("{} webhook {} {}: {} after {} ms", tag, request.method, origin(request), outcome.error, ms);
      }
    } catch (const std::exception& e) {
      spdlog::error("{} webhook {} {}: {}", tag, request.method, origin(request), e.what());
      result.exit_code = 1;
    }
    done(std::move(result));
  }

  asio::io_context io_{1};
  asio::executor_work_guard<asio::io_context::executor_type> work_;
  asio::steady_timer sweep_timer_;
  std::thread thread_;
  std::once_flag shutdown_once_;
  // Touched only on io_'s thread:
  bool closing_ = false;
  std::map<PoolKey, std::deque<std::unique_ptr<Connection>>> pool_;
  struct TlsContext {
    std::unique_ptr<ssl::context> context;
    std::filesystem::file_time_type modified{};  // of ca_file when the context was built
  };
  std::map<std::pair<std::string, bool>, TlsContext> contexts_;
};

}  // namespace
}  // namespace vhm::hooks::webhook_client

namespace vhm::hooks {

std::unique_ptr<AsyncAction> make_webhook_sender() { return std::make_unique<webhook_client::WebhookSender>(); }

}  // namespace vhm::hooks
