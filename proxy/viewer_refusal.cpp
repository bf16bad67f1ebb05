#include "proxy/viewer_refusal.hpp"

#include <array>

#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>

#include "rfb/refusal.hpp"

namespace vhm::proxy {
namespace {

using namespace asio::experimental::awaitable_operators;

awaitable<void> refusal_exchange(relay::Transport& socket, const std::string& reason) {
  const auto greeting = rfb::proxy_server_version;
  auto [write_error, written] = co_await asio::async_write(socket, asio::buffer(greeting.data(), greeting.size()), use_tuple);
  if (write_error) co_return;
  std::array<std::uint8_t, rfb::version_message_length> client_version{};
  auto [read_error, read] = co_await asio::async_read(socket, asio::buffer(client_version), use_tuple);
  if (read_error) co_return;
  // A viewer that answered garbage still gets a 3.8-style refusal: most show it.
  const auto version = rfb::negotiated_with_viewer(client_version).value_or(rfb::Version{3, 8});
  const auto message = rfb::connection_refusal(version, reason);
  auto [refusal_error, refusal_written] = co_await asio::async_write(socket, asio::buffer(message), use_tuple);
  if (!refusal_error) co_await socket.async_end(1000);
}

}  // namespace

awaitable<void> refuse_viewer(relay::Transport& viewer, std::string reason, std::chrono::steady_clock::duration limit) {
  asio::steady_timer deadline(viewer.get_executor());
  deadline.expires_after(limit);
  co_await (refusal_exchange(viewer, reason) || deadline.async_wait(use_tuple));
  viewer.close();
}

}  // namespace vhm::proxy
