#pragma once
// The two kinds of leg the pump (pump.cpp) moves bytes between, behind one
// shape: read() (TcpLeg: read_now() after the pump's readiness wait),
// write(), chunk_done(), end().
//
// TcpLeg is a plain TCP socket: it waits for readiness and then reads without
// blocking into a pooled buffer, so an idle direction holds no buffer
// (proxy/relay/buffer_pool.hpp), and two TcpLegs may splice. StreamLeg is
// any other stream: a Transport (TLS, WebSocket: proxy/relay/transport.hpp)
// or the TLS of VeNCrypt termination inside one. Those may hold decrypted or
// unframed bytes the socket no longer shows, so a read stays pending in the
// leg's own buffer: it starts small (an idle viewer costs little) and grows
// while reads fill it.
#include <algorithm>
#include <optional>
#include <span>
#include <string>
#include <tuple>
#include <type_traits>
#include <vector>

#include <boost/asio/write.hpp>

#include "proxy/asio.hpp"
#include "proxy/relay/buffer_pool.hpp"
#include "proxy/relay/transport.hpp"
#include "proxy/tls_stream.hpp"
#include "tls/error_text.hpp"

namespace vhm::proxy::relay {

struct ReadResult {
  boost::system::error_code error;      // eof included
  std::span<const std::uint8_t> bytes;  // empty without error: nothing there now, wait again
};

using WriteResult = std::tuple<boost::system::error_code, std::size_t>;

class TcpLeg {
 public:
  static constexpr bool plain = true;  // half-close, readiness reads, splice
  TcpLeg(tcp::socket& socket, BufferPool& pool) : socket_(socket), pool_(pool) {}

  tcp::socket& socket() { return socket_; }
  // The last read filled the buffer: more may be there, read before waiting.
  bool holding_bytes() const { return lease_.has_value(); }
  // Without waiting (the socket is non-blocking): the pump calls this
  // directly, a stream leg's read() is awaited.
  ReadResult read_now() {
    if (!lease_) lease_.emplace(pool_.acquire());
    const auto buffer = lease_->bytes();
    boost::system::error_code error;
    const std::size_t n = socket_.read_some(asio::buffer(buffer.data(), buffer.size()), error);
    if (error || n == 0) {
      lease_.reset();
      if (error == asio::error::would_block || error == asio::error::try_again) return {};
      return {error ? error : asio::error::eof, {}};
    }
    filled_ = n == buffer.size();
    return {{}, buffer.first(n)};
  }
  awaitable<WriteResult> write(std::span<const std::uint8_t> bytes) {
    co_return co_await asio::async_write(socket_, asio::buffer(bytes.data(), bytes.size()), use_tuple);
  }
  // The chunk was written: keep the buffer only if more may be waiting.
  void chunk_done() {
    if (!filled_) lease_.reset();
  }
  std::string describe(const boost::system::error_code& error) const { return error.message(); }
  Transport::Ending ending(const boost::system::error_code& error) const {
    return error == asio::error::eof ? Transport::Ending::peer_closed : Transport::Ending::broken;
  }
  // Tells the peer nothing more comes (FIN); the other direction may go on.
  awaitable<void> end() {
    boost::system::error_code ignored;
    socket_.shutdown(tcp::socket::shutdown_send, ignored);
    co_return;
  }

 private:
  tcp::socket& socket_;
  BufferPool& pool_;
  std::optional<BufferPool::Lease> lease_;
  bool filled_ = false;
};

// Stream: Transport or TlsStream (ssl::stream<Transport&>); the TLS parts are
// only instantiated where <boost/asio/ssl/stream.hpp> is included (pump.cpp).
template <typename Stream>
class StreamLeg {
 public:
  static constexpr bool plain = false;
  static constexpr bool over_vencrypt_tls = !std::is_same_v<Stream, Transport>;
  static constexpr std::size_t max_buffer = 64 * 1024;

  StreamLeg(Stream& stream, std::size_t initial_buffer) : stream_(stream), buffer_(initial_buffer) {}

  Stream& stream() { return stream_; }
  awaitable<ReadResult> read() {
    auto [error, n] = co_await stream_.async_read_some(asio::buffer(buffer_), use_tuple);
    if (error) co_return ReadResult{error, {}};
    filled_ = n == buffer_.size();
    co_return ReadResult{{}, std::span<const std::uint8_t>(buffer_.data(), n)};
  }
  awaitable<WriteResult> write(std::span<const std::uint8_t> bytes) {
    co_return co_await asio::async_write(stream_, asio::buffer(bytes.data(), bytes.size()), use_tuple);
  }
  // A busy stream gets a larger buffer (fewer, larger writes), up to max_buffer.
  void chunk_done() {
    if (filled_ && buffer_.size() < max_buffer) buffer_.resize(std::min(max_buffer, buffer_.size() * 2));
  }
  std::string describe(const boost::system::error_code& error) {
    if constexpr (over_vencrypt_tls)
      return tls::describe_error(error, stream_.native_handle());
    else
      return stream_.describe(error);
  }
  Transport::Ending ending(const boost::system::error_code& error) const {
    if constexpr (over_vencrypt_tls)
      return tls::is_peer_close(error) ? Transport::Ending::peer_closed : Transport::Ending::tls_error;
    else
      return stream_.ending(error);
  }
  // The orderly end (close_notify, a WebSocket Close frame); the caller bounds it.
  awaitable<void> end() {
    if constexpr (over_vencrypt_tls)
      co_await stream_.async_shutdown(use_tuple);
    else
      co_await stream_.async_end(1000);
  }

 private:
  Stream& stream_;
  std::vector<std::uint8_t> buffer_;
  bool filled_ = false;
};

}  // namespace vhm::proxy::relay
