#include "proxy/frontend/tls_transport.hpp"

#include <openssl/ssl.h>

#include <boost/asio/append.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <cstring>
#include <optional>

#include "proxy/frontend/deadline.hpp"
#include "tls/contexts.hpp"
#include "tls/error_text.hpp"
#include "tls/openssl_errors.hpp"

namespace vhm::proxy::frontend {
namespace {

namespace ssl = asio::ssl;

// One class for both directions: ssl::stream<tcp::socket> owns the viewer's
// socket, ssl::stream<tcp::socket&> borrows the session's server socket.
template <typename Stream>
class TlsTransport final : public relay::Transport {
 public:
  explicit TlsTransport(Stream&& stream) : stream_(std::move(stream)) {}
  template <typename... Args>
  explicit TlsTransport(std::in_place_t, Args&&... args) : stream_(std::forward<Args>(args)...) {}

  Stream& stream() { return stream_; }
  const char* name() const override { return "tls"; }
  tcp::socket& socket() override { return stream_.next_layer(); }
  awaitable<void> async_end(std::uint16_t) override {
    auto [error] = co_await stream_.async_shutdown(use_tuple);
    (void)error;
  }
  void close() override {
    boost::system::error_code ignored;
    socket().close(ignored);
  }
  std::string describe(const boost::system::error_code& error) const override {
    return "TLS: " + tls::describe_error(error, const_cast<Stream&>(stream_).native_handle());
  }
  Ending ending(const boost::system::error_code& error) const override {
    if (error == asio::error::eof || error == asio::ssl::error::stream_truncated) return Ending::peer_closed;
    if (error.category() == asio::error::get_ssl_category()) return Ending::tls_error;
    return Ending::broken;
  }

 protected:
  void start_read(asio::mutable_buffer buffer, Handler handler) override {
    stream_.async_read_some(buffer, std::move(handler));
  }
  void start_write(asio::const_buffer buffer, Handler handler) override {
    stream_.async_write_some(buffer, std::move(handler));
  }

 private:
  Stream stream_;
};

// websockify --ssl-target: TLS without verification. One context for the
// process, built on first use.
ssl::context* target_context(std::string& error) {
  static std::string failure;
  static ssl::context* context = [] () -> ssl::context* {
    tls::clear_openssl_errors();
    auto* built = new ssl::context(ssl::context::tls_client);
    SSL_CTX* ctx = built->native_handle();
    SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION);
    SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
    if (SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1) {
      failure = tls::take_openssl_error("cannot require TLS 1.2");
      delete built;
      return nullptr;
    }
    built->set_verify_mode(ssl::verify_none);
    return built;
  }();
  if (context == nullptr) error = failure;
  return context;
}

}  // namespace

std::unique_ptr<relay::Transport> make_tls_server_transport(TlsServerStream&& stream) {
  return std::make_unique<TlsTransport<TlsServerStream>>(std::move(stream));
}

awaitable<TlsClientResult> make_tls_client_transport(tcp::socket& borrowed, std::string server_name,
                                                     std::chrono::milliseconds timeout) {
  TlsClientResult result;
  std::string why;
  ssl::context* context = target_context(why);
  if (context == nullptr) {
    result.error = "TLS toward the target: " + why;
    co_return result;
  }
  using ClientStream = ssl::stream<tcp::socket&>;
  auto transport = std::make_unique<TlsTransport<ClientStream>>(std::in_place, borrowed, *context);
  tls::set_server_name(transport->stream().native_handle(), server_name);
  Deadline deadline(borrowed.get_executor());
  deadline.arm(borrowed, timeout, Deadline::Action::cancel);
  auto [error] = co_await transport->stream().async_handshake(ssl::stream_base::client, use_tuple);
  deadline.disarm();
  if (error) {
    result.error = deadline.expired() ? "TLS handshake with the target timed out"
                                      : "TLS handshake with the target failed: " +
                                            tls::describe_error(error, transport->stream().native_handle());
    co_return result;
  }
  result.transport = std::move(transport);
  co_return result;
}

}  // namespace vhm::proxy::frontend
