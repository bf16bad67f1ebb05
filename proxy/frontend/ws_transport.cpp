#include "proxy/frontend/ws_transport.hpp"

#include <boost/asio/associated_cancellation_slot.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/beast/core/stream_traits.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <boost/beast/websocket/stream.hpp>

#include "tls/error_text.hpp"

namespace vhm::proxy::frontend {
namespace {

namespace beast = boost::beast;
namespace websocket = beast::websocket;
using boost::system::error_code;

class WsErrorCategory final : public boost::system::error_category {
 public:
  const char* name() const noexcept override { return "vhm.websocket"; }
  std::string message(int) const override { return "text frame"; }
};

const WsErrorCategory& ws_category() {
  static const WsErrorCategory category;
  return category;
}

websocket::stream_base::timeout timeouts(const WsSettings& settings) {
  using websocket::stream_base;
  stream_base::timeout timeout{};
  timeout.handshake_timeout = settings.handshake_timeout;
  // Beast pings after half the idle timeout without a frame from the
  // browser and gives up after the whole of it.
  if (settings.idle_timeout) {
    timeout.idle_timeout = *settings.idle_timeout;
  } else if (settings.heartbeat.count() > 0) {
    timeout.idle_timeout = 2 * settings.heartbeat;
  } else {
    timeout.idle_timeout = stream_base::none();
  }
  timeout.keep_alive_pings = settings.heartbeat.count() > 0;
  return timeout;
}

template <typename Next>
class WsTransport final : public relay::Transport {
 public:
  WsTransport(Next&& next, const char* name) : ws_(std::move(next)), name_(name) {}

  websocket::stream<Next>& ws() { return ws_; }
  const char* name() const override { return name_; }
  tcp::socket& socket() override { return beast::get_lowest_layer(ws_); }
  awaitable<void> async_end(std::uint16_t close_code) override {
    if (text_seen_ || !ws_.is_open()) co_return;  // its Close (1003) is under way / already done
    auto [error] = co_await ws_.async_close(websocket::close_reason(close_code), use_tuple);
    (void)error;
  }
  void close() override {
    error_code ignored;
    socket().close(ignored);
  }
  std::string describe(const error_code& error) const override {
    if (error.category() == asio::error::get_ssl_category() || error == asio::ssl::error::stream_truncated)
      return "TLS: " + tls::describe_error(error);
    return "WebSocket: " + error.message();
  }
  Ending ending(const error_code& error) const override {
    if (error == websocket::error::closed || error == asio::error::eof) return Ending::peer_closed;
    if (error == text_frame_error() ||
        error.category() == websocket::make_error_code(websocket::error::closed).category())
      return Ending::protocol_error;
    if (error.category() == asio::error::get_ssl_category()) return Ending::tls_error;
    return Ending::broken;  // a reset, a timeout (no pong), stream_truncated
  }

 protected:
  // Beast posts its completions to the handler's executor, which must be an
  // io executor (any_completion_handler's is not one): bind the stream's.
  void start_read(asio::mutable_buffer buffer, Handler handler) override {
    auto slot = asio::get_associated_cancellation_slot(handler);
    ws_.async_read_some(
        buffer, asio::bind_cancellation_slot(
                    slot, asio::bind_executor(ws_.get_executor(), [this, handler = std::move(handler)](
                                                                      error_code error, std::size_t n) mutable {
                      if (!error && ws_.got_text()) {
                        // noVNC never sends text: a peer that does speaks something else.
                        text_seen_ = true;
                        error = text_frame_error();
                        n = 0;
                        ws_.async_close(websocket::close_reason(websocket::close_code::unknown_data),
                                        asio::bind_executor(ws_.get_executor(), [](error_code) {}));
                      }
                      std::move(handler)(error, n);
                    })));
  }
  void start_write(asio::const_buffer buffer, Handler handler) override {
    auto slot = asio::get_associated_cancellation_slot(handler);
    ws_.async_write(buffer, asio::bind_cancellation_slot(slot, asio::bind_executor(ws_.get_executor(), std::move(handler))));
  }

 private:
  websocket::stream<Next> ws_;
  const char* name_;
  bool text_seen_ = false;
};

template <typename Next>
awaitable<WsAcceptResult> accept_on(Next next, const char* name, const UpgradeRequest& request,
                                    const WsSettings& settings) {
  auto transport = std::make_unique<WsTransport<Next>>(std::move(next), name);
  auto& ws = transport->ws();
  ws.set_option(timeouts(settings));
  websocket::permessage_deflate no_deflate;  // compression would cost ~300 KiB of zlib state per session
  no_deflate.server_enable = false;
  ws.set_option(no_deflate);
  ws.read_message_max(static_cast<std::size_t>(settings.max_message));
  ws.auto_fragment(false);
  ws.write_buffer_bytes(64);  // unused by an uncompressed server; keep it small anyway
  ws.binary(true);
  ws.set_option(websocket::stream_base::decorator(
      [subprotocol = settings.subprotocol](websocket::response_type& response) {
        response.set(boost::beast::http::field::server, "vnc-hooks-manager");
        if (!subprotocol.empty()) response.set(boost::beast::http::field::sec_websocket_protocol, subprotocol);
      }));
  auto [error] = co_await ws.async_accept(request, use_tuple);
  WsAcceptResult result;
  if (error) {
    result.error = "WebSocket handshake failed: " + error.message();
    co_return result;
  }
  result.transport = std::move(transport);
  co_return result;
}

}  // namespace

const error_code& text_frame_error() {
  static const error_code error(1, ws_category());
  return error;
}

awaitable<WsAcceptResult> accept_websocket(tcp::socket&& socket, const UpgradeRequest& request,
                                           const WsSettings& settings) {
  return accept_on(std::move(socket), "ws", request, settings);
}

awaitable<WsAcceptResult> accept_websocket(TlsServerStream&& stream, const UpgradeRequest& request,
                                           const WsSettings& settings) {
  return accept_on(std::move(stream), "wss", request, settings);
}

}  // namespace vhm::proxy::frontend
