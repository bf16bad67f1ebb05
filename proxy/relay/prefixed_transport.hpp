#pragma once
// A Transport that first returns bytes already read from it, then reads on.
// VeNCrypt termination over a WebSocket or TLS front end: the relay's pending
// read may already hold the viewer's ClientHello when TLS starts (a plain TCP
// leg only waits for readiness and never consumes it); those bytes go to the
// TLS engine through this. The front end uses it too (owning the transport)
// for the RFB bytes it read inside TLS while sniffing.
#include <algorithm>
#include <memory>
#include <vector>

#include <boost/asio/append.hpp>
#include <boost/asio/post.hpp>

#include "proxy/relay/transport.hpp"

namespace vhm::proxy::relay {

class PrefixedTransport final : public Transport {
 public:
  PrefixedTransport(Transport& inner, std::vector<std::uint8_t> prefix) : inner_(inner), prefix_(std::move(prefix)) {}
  PrefixedTransport(std::unique_ptr<Transport> owned, std::vector<std::uint8_t> prefix)
      : owned_(std::move(owned)), inner_(*owned_), prefix_(std::move(prefix)) {}
  const char* name() const override { return inner_.name(); }
  tcp::socket& socket() override { return inner_.socket(); }
  bool half_close() const override { return inner_.half_close(); }
  awaitable<void> async_end(std::uint16_t close_code) override { return inner_.async_end(close_code); }
  void close() override { inner_.close(); }
  std::string describe(const boost::system::error_code& error) const override { return inner_.describe(error); }
  Ending ending(const boost::system::error_code& error) const override { return inner_.ending(error); }

 protected:
  void start_read(asio::mutable_buffer buffer, Handler handler) override {
    if (!prefix_left()) {
      inner_.async_read_some(buffer, std::move(handler));
      return;
    }
    const std::size_t n = std::min(buffer.size(), prefix_.size() - offset_);
    std::copy_n(prefix_.data() + offset_, n, static_cast<std::uint8_t*>(buffer.data()));
    offset_ += n;
    // Completes later, on the handler's own executor (post honours it), never inside this call.
    asio::post(get_executor(), asio::append(std::move(handler), boost::system::error_code{}, n));
  }
  void start_write(asio::const_buffer buffer, Handler handler) override {
    inner_.async_write_some(buffer, std::move(handler));
  }

 private:
  bool prefix_left() const { return offset_ < prefix_.size(); }
  std::unique_ptr<Transport> owned_;  // set by the owning constructor
  Transport& inner_;
  std::vector<std::uint8_t> prefix_;
  std::size_t offset_ = 0;
};

}  // namespace vhm::proxy::relay
