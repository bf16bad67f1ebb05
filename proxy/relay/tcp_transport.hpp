#pragma once
// Plain TCP as a Transport: the viewer's socket as accepted (owned), or the
// session's server socket (borrowed: the session dials it).
#include <optional>

#include "proxy/relay/transport.hpp"

namespace vhm::proxy::relay {

class TcpTransport final : public Transport {
 public:
  explicit TcpTransport(tcp::socket&& socket) : owned_(std::move(socket)), socket_(*owned_) {}
  explicit TcpTransport(tcp::socket& socket) : socket_(socket) {}
  const char* name() const override { return "tcp"; }
  tcp::socket& socket() override { return socket_; }
  tcp::socket* plain_socket() override { return &socket_; }
  bool half_close() const override { return true; }
  awaitable<void> async_end(std::uint16_t close_code) override;
  void close() override;

 protected:
  void start_read(asio::mutable_buffer buffer, Handler handler) override;
  void start_write(asio::const_buffer buffer, Handler handler) override;

 private:
  std::optional<tcp::socket> owned_;
  tcp::socket& socket_;
};

}  // namespace vhm::proxy::relay
