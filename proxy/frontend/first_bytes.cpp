#include "proxy/frontend/first_bytes.hpp"

#include <sys/socket.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <vector>

#include "conf/duration.hpp"
#include "proxy/frontend/deadline.hpp"
#include "proxy/frontend/sniff.hpp"

namespace vhm::proxy::frontend {

namespace {

// v1 lines are at most 107 bytes; v2 with addresses and a few TLVs fits.
constexpr std::size_t proxy_header_cap = 16 + 536;
// How often a partial first packet ("GE") is looked at again while sniffing.
constexpr std::chrono::milliseconds sniff_poll{5};

ssize_t peek_bytes(tcp::socket& socket, void* data, std::size_t size) {
  ssize_t n;
  do {
    n = ::recv(socket.native_handle(), data, size, MSG_PEEK | MSG_DONTWAIT);
  } while (n < 0 && errno == EINTR);
  return n;
}

// Takes `size` bytes that a peek showed are there.
bool consume_bytes(tcp::socket& socket, std::size_t size) {
  std::array<std::uint8_t, 256> sink;
  while (size > 0) {
    const ssize_t n = ::recv(socket.native_handle(), sink.data(), std::min(size, sink.size()), MSG_DONTWAIT);
    if (n <= 0) {
      if (n < 0 && errno == EINTR) continue;
      return false;
    }
    size -= static_cast<std::size_t>(n);
  }
  return true;
}

}  // namespace

// The PROXY header, consumed to its last byte and no further (the stream
// after it may be TLS). nullopt with `why`.
awaitable<std::optional<ProxyHeader>> read_proxy_header(tcp::socket& socket, std::chrono::milliseconds limit,
                                                        std::string& why) {
  Deadline deadline(socket.get_executor());
  deadline.arm(socket, limit, Deadline::Action::cancel);
  std::vector<std::uint8_t> header;
  std::array<std::uint8_t, proxy_header_cap> chunk;
  for (;;) {
    auto [error] = co_await socket.async_wait(tcp::socket::wait_read, use_tuple);
    if (error) {
      why = deadline.expired() ? "no PROXY protocol header within " + conf::format_duration(limit) : error.message();
      co_return std::nullopt;
    }
    const ssize_t n = peek_bytes(socket, chunk.data(), proxy_header_cap - header.size());
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) continue;
    if (n <= 0) {
      why = n == 0 ? "closed before the PROXY protocol header ended" : std::strerror(errno);
      co_return std::nullopt;
    }
    std::vector<std::uint8_t> candidate = header;
    candidate.insert(candidate.end(), chunk.begin(), chunk.begin() + n);
    auto parsed = parse_proxy_header(candidate);
    if (parsed.status == ProxyParse::invalid) {
      why = "invalid PROXY protocol header: " + parsed.error;
      co_return std::nullopt;
    }
    if (parsed.status == ProxyParse::ok) {
      if (parsed.header.length < header.size() || !consume_bytes(socket, parsed.header.length - header.size())) {
        why = "the PROXY protocol header could not be read";
        co_return std::nullopt;
      }
      co_return parsed.header;
    }
    if (candidate.size() >= proxy_header_cap) {
      why = "PROXY protocol header over " + std::to_string(proxy_header_cap) + " bytes";
      co_return std::nullopt;
    }
    // A proper prefix of the header: all of it is the header's.
    if (!consume_bytes(socket, static_cast<std::size_t>(n))) {
      why = "the PROXY protocol header could not be read";
      co_return std::nullopt;
    }
    header = std::move(candidate);
  }
}

// The first bytes of the plain connection, left unread (MSG_PEEK).
awaitable<First> sniff_plain(tcp::socket& socket, std::chrono::milliseconds timeout) {
  using namespace asio::experimental::awaitable_operators;
  const auto until = std::chrono::steady_clock::now() + timeout;
  asio::steady_timer timer(socket.get_executor());
  for (bool partial = false;;) {
    timer.expires_at(partial ? std::min(until, std::chrono::steady_clock::now() + sniff_poll) : until);
    if (partial) {
      co_await timer.async_wait(use_tuple);
    } else {
      auto ready = co_await (socket.async_wait(tcp::socket::wait_read, use_tuple) || timer.async_wait(use_tuple));
      if (ready.index() == 1) co_return First::silence;
      if (std::get<0>(std::get<0>(ready))) co_return First::closed;
    }
    std::array<std::uint8_t, 8> first;
    const ssize_t n = peek_bytes(socket, first.data(), first.size());
    if (n == 0) co_return First::closed;
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) continue;
      co_return First::closed;
    }
    switch (sniff(std::span<const std::uint8_t>(first.data(), static_cast<std::size_t>(n)))) {
      case Sniffed::tls:
        co_return First::tls;
      case Sniffed::http:
        co_return First::http;
      case Sniffed::other:
        co_return First::other;
      case Sniffed::need_more:
        if (std::chrono::steady_clock::now() >= until) co_return First::other;
        partial = true;
        break;
    }
  }
}

}  // namespace vhm::proxy::frontend
