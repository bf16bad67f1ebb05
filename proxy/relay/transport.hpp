#pragma once
// A leg's byte stream, whatever carries it: plain TCP, TLS, or WebSocket over
// either (DESIGN.md "The relay"). It is an Asio AsyncReadStream and
// AsyncWriteStream, so asio::async_read/async_write and an ssl::stream (VeNCrypt
// termination inside any transport) work on it unchanged; each transport is
// one file (tcp_transport.cpp, proxy/frontend/tls_transport.cpp,
// proxy/frontend/ws_transport.cpp) behind these virtual calls, and the relay
// (pump.cpp) has one copy of its logic for all of them. Plain TCP also
// exposes its socket, which the relay uses for readiness reads and splice.
#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/buffer.hpp>
#include <chrono>
#include <string>

#include "proxy/asio.hpp"

namespace vhm::proxy::relay {

class Transport {
 public:
  using executor_type = asio::any_io_executor;
  using lowest_layer_type = tcp::socket;  // what ssl::stream<Transport&> asks for
  using Handler = asio::any_completion_handler<void(boost::system::error_code, std::size_t)>;

  virtual ~Transport() = default;

  executor_type get_executor() { return socket().get_executor(); }
  lowest_layer_type& lowest_layer() { return socket(); }

  template <typename MutableBuffers, typename Token>
  auto async_read_some(const MutableBuffers& buffers, Token&& token) {
    return asio::async_initiate<Token, void(boost::system::error_code, std::size_t)>(
        [this](auto handler, asio::mutable_buffer buffer) {
          // Plain TCP: straight to the socket, without the type-erased handler (three allocations a call).
          if (auto* plain = plain_socket())
            plain->async_read_some(buffer, std::move(handler));
          else
            start_read(buffer, Handler(std::move(handler)));
        },
        token, first_mutable(buffers));
  }
  template <typename ConstBuffers, typename Token>
  auto async_write_some(const ConstBuffers& buffers, Token&& token) {
    return asio::async_initiate<Token, void(boost::system::error_code, std::size_t)>(
        [this](auto handler, asio::const_buffer buffer) {
          if (auto* plain = plain_socket())
            plain->async_write_some(buffer, std::move(handler));
          else
            start_write(buffer, Handler(std::move(handler)));
        },
        token, first_const(buffers));
  }

  // tcp, tls, ws or wss: the {transport} field.
  virtual const char* name() const = 0;
  // The TCP connection beneath (addresses, options, close).
  virtual tcp::socket& socket() = 0;
  // Plain TCP: the socket itself, for readiness reads and splice; else null.
  virtual tcp::socket* plain_socket() { return nullptr; }
  // Whether one direction can end while the other goes on (TCP's half-close).
  // Without it (TLS, WebSocket) the first end of either direction ends the session.
  virtual bool half_close() const { return false; }
  // The orderly end of the stream: TCP FIN, TLS close_notify, a WebSocket
  // Close frame with `close_code` (1000 normal, 1001 going away...). Bounded
  // by the caller; errors are ignored (the peer may already be gone).
  virtual awaitable<void> async_end(std::uint16_t close_code = 1000) = 0;
  // Ends at once: cancels what is pending and closes the socket.
  virtual void close() = 0;
  // A read or write error in words ("TLS alert: ...", "WebSocket: text frame").
  virtual std::string describe(const boost::system::error_code& error) const { return error.message(); }
  // What a read or write error means for the session's `disconnect` reason:
  // the peer ended the stream in order (EOF, close_notify, a Close frame) or
  // the connection broke (reset): client_closed/server_closed; TLS failed:
  // tls_error; the peer broke the framing (a WebSocket text frame, an
  // unmasked or oversized frame): protocol_error.
  enum class Ending : std::uint8_t { peer_closed, broken, tls_error, protocol_error };
  virtual Ending ending(const boost::system::error_code& error) const {
    return error == asio::error::eof ? Ending::peer_closed : Ending::broken;
  }

 protected:
  // One read or write of up to buffer.size() bytes at a time, as
  // async_read_some/async_write_some (zero only for an empty buffer).
  virtual void start_read(asio::mutable_buffer buffer, Handler handler) = 0;
  virtual void start_write(asio::const_buffer buffer, Handler handler) = 0;

 private:
  template <typename Buffers>
  static asio::mutable_buffer first_mutable(const Buffers& buffers) {
    for (auto it = asio::buffer_sequence_begin(buffers); it != asio::buffer_sequence_end(buffers); ++it)
      if (asio::mutable_buffer b(*it); b.size() > 0) return b;
    return {};
  }
  template <typename Buffers>
  static asio::const_buffer first_const(const Buffers& buffers) {
    for (auto it = asio::buffer_sequence_begin(buffers); it != asio::buffer_sequence_end(buffers); ++it)
      if (asio::const_buffer b(*it); b.size() > 0) return b;
    return {};
  }
};

}  // namespace vhm::proxy::relay
