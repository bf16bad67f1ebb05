#pragma once
// The two kinds of leg the pump (pump.cpp) moves bytes between, behind one
// shape: wait_readable(), a read, stream() to write to, chunk_done().
//
// TcpLeg waits for readiness and then reads without blocking into a pooled
// buffer, so an idle direction holds no buffer (proxy/relay/buffer_pool.hpp);
// while reads keep filling the buffer it skips the wait. TlsLeg reads through
// OpenSSL, which may hold decrypted bytes the socket no longer shows, so it
// cannot use the readiness trick: it keeps one TLS-record-sized buffer.
#include <optional>
#include <span>
#include <vector>

#include "proxy/asio.hpp"
#include "proxy/relay/buffer_pool.hpp"
#include "proxy/tls_stream.hpp"

namespace vhm::proxy::relay {

struct ReadResult {
  boost::system::error_code error;      // eof included
  std::span<const std::uint8_t> bytes;  // empty without error: nothing there now, wait again
};

class TcpLeg {
 public:
  static constexpr bool is_tls = false;
  TcpLeg(tcp::socket& socket, BufferPool& pool) : socket_(socket), pool_(pool) {}

  tcp::socket& stream() { return socket_; }
  awaitable<boost::system::error_code> wait_readable() {
    if (lease_) co_return boost::system::error_code{};  // the last read filled the buffer: more may be there
    auto [error] = co_await socket_.async_wait(tcp::socket::wait_read, use_tuple);
    co_return error;
  }
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
  // The chunk was written: keep the buffer only if more may be waiting.
  void chunk_done() {
    if (!filled_) lease_.reset();
  }

 private:
  tcp::socket& socket_;
  BufferPool& pool_;
  std::optional<BufferPool::Lease> lease_;
  bool filled_ = false;
};

class TlsLeg {
 public:
  static constexpr bool is_tls = true;
  static constexpr std::size_t record_size = 16 * 1024;
  explicit TlsLeg(TlsStream& stream) : stream_(stream), buffer_(record_size) {}

  TlsStream& stream() { return stream_; }
  awaitable<boost::system::error_code> wait_readable() { co_return boost::system::error_code{}; }
  awaitable<ReadResult> read();  // session_tls.cpp's translation unit has the OpenSSL headers
  void chunk_done() {}

 private:
  TlsStream& stream_;
  std::vector<std::uint8_t> buffer_;
};

}  // namespace vhm::proxy::relay
