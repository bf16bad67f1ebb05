#include "proxy/relay/tcp_transport.hpp"

namespace vhm::proxy::relay {

void TcpTransport::start_read(asio::mutable_buffer buffer, Handler handler) {
  socket_.async_read_some(buffer, std::move(handler));
}

void TcpTransport::start_write(asio::const_buffer buffer, Handler handler) {
  socket_.async_write_some(buffer, std::move(handler));
}

awaitable<void> TcpTransport::async_end(std::uint16_t) {
  boost::system::error_code ignored;
  socket_.shutdown(tcp::socket::shutdown_send, ignored);
  co_return;
}

void TcpTransport::close() {
  boost::system::error_code ignored;
  socket_.close(ignored);
}

}  // namespace vhm::proxy::relay
