// `tls.server_security: plain` (docs/vencrypt.md): for a server on loopback
// that offers VncAuth, the proxy itself plays the VeNCrypt server toward the
// viewer and answers the server with plain VncAuth. The viewer is offered
// VeNCrypt first, then the server's own types; one that picks VeNCrypt gets
// TLSVnc (and X509Vnc when the listener has tls.cert) from the proxy, while
// the server leg carries VncAuth in clear over loopback. A viewer that picks
// anything else gets exactly the server's exchange. The parser follows the
// viewer's side, so events name what the viewer negotiated
// (VeNCrypt/TLSVnc), and every such session says so loudly in the log.
//
// Sequential and exact: before TLS the RFB handshake is strictly one message
// at a time, so each message is read whole, forwarded or answered, and shown
// to the parser. Whenever the proxy has nothing to add it hands over to the
// copying pumps at a message boundary.
#include "util/log.hpp"

#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>

#include <vector>

#include "proxy/endpoint_text.hpp"
#include "proxy/session.hpp"
#include "rfb/vencrypt_messages.hpp"

namespace vhm::proxy {

namespace vencrypt = rfb::vencrypt;

awaitable<bool> Session::plain_server_handshake() {
  const auto& config = listener_->config;
  if (config.vencrypt != conf::VeNCryptMode::terminate || config.tls.server_security != conf::ServerSecurity::plain)
    co_return false;
  boost::system::error_code error;
  const auto server = server_.remote_endpoint(error);
  if (error || !canonical_address(server.address()).is_loopback()) {
    spdlog::warn("session {}: tls.server_security: plain is for servers on loopback; {} is not: VeNCrypt is "
                 "terminated as the server offers it",
                 id(), error ? std::string("the server") : endpoint_text(server));
    co_return false;
  }
  running_pumps_ = 2;  // `ctl sessions`: "handshake"
  const bool took_over = co_await speak_vencrypt_to_viewer();
  running_pumps_ = 0;
  co_return took_over || closing_;
}

awaitable<bool> Session::forward_exact(bool from_client, std::size_t count) {
  relay::Transport& from = from_client ? *viewer_ : *server_stream_;
  relay::Transport& to = from_client ? *server_stream_ : *viewer_;
  std::vector<std::uint8_t> bytes(count);
  auto [read_error, read] = co_await asio::async_read(from, asio::buffer(bytes), use_tuple);
  if (read_error) {
    fail_socket(from_client, read_error);
    co_return false;
  }
  (from_client ? bytes_in_ : bytes_out_) += count;
  observe(from_client ? rfb::Direction::client_to_server : rfb::Direction::server_to_client, bytes);
  if (closing_) co_return false;
  auto [write_error, written] = co_await asio::async_write(to, asio::buffer(bytes), use_tuple);
  if (write_error) {
    fail_socket(!from_client, write_error);
    co_return false;
  }
  co_return true;
}

// true: the proxy took the session over (TLS with the viewer is next, or the
// session is closing); false: the copying pumps go on from here.
awaitable<bool> Session::speak_vencrypt_to_viewer() {
  HandshakePhase phase(*this);
  // Shown to the parser as the viewer sees it, and written to one side.
  auto send = [this](relay::Transport& to, std::vector<std::uint8_t> bytes, bool observed) -> awaitable<bool> {
    if (observed) {
      if (&to == viewer_.get()) bytes_out_ += bytes.size();
      observe(&to == viewer_.get() ? rfb::Direction::server_to_client : rfb::Direction::client_to_server, bytes);
      if (closing_) co_return false;
    }
    auto [error, written] = co_await asio::async_write(to, asio::buffer(bytes), use_tuple);
    if (error) fail_socket(&to == viewer_.get(), error);
    co_return !error;
  };
  auto receive = [this](relay::Transport& from, std::size_t count) -> awaitable<std::optional<std::vector<std::uint8_t>>> {
    std::vector<std::uint8_t> bytes(count);
    auto [error, read] = co_await asio::async_read(from, asio::buffer(bytes), use_tuple);
    if (error) {
      fail_socket(&from == viewer_.get(), error);
      co_return std::nullopt;
    }
    if (&from == viewer_.get()) {
      bytes_in_ += count;
      observe(rfb::Direction::client_to_server, bytes);
      if (closing_) co_return std::nullopt;
    }
    co_return bytes;
  };

  // With the scanner shield the versions were exchanged before the dial (session_greeting.cpp).
  if (!viewer_version_ && (!co_await forward_exact(false, 12) || !co_await forward_exact(true, 12))) co_return true;
  if (parser_->summary().version.minor < 7) co_return false;  // 3.3: the server picks the type itself

  const auto count = co_await receive(*server_stream_, 1);
  if (!count) co_return true;
  std::vector<std::uint8_t> server_types;
  if ((*count)[0] != 0) {
    auto types = co_await receive(*server_stream_, (*count)[0]);
    if (!types) co_return true;
    server_types = std::move(*types);
  }
  const auto offer = vencrypt::offer_in_front_of_vnc_auth(server_types);
  if (!offer) {  // a refusal (count 0) or no VncAuth: relay the list as it is
    if ((*count)[0] != 0)
      spdlog::warn("session {}: the server offers no VncAuth for tls.server_security: plain; relaying its "
                   "security types as they are",
                   id());
    co_return !co_await send(*viewer_, vencrypt::security_type_list(server_types), true);
  }
  if (!co_await send(*viewer_, vencrypt::security_type_list(*offer), true)) co_return true;

  const auto choice = co_await receive(*viewer_, 1);
  if (!choice) co_return true;
  if ((*choice)[0] != vencrypt::security_type) co_return !co_await send(*server_stream_, *choice, false);

  // The viewer chose VeNCrypt: VncAuth toward the server, VeNCrypt from the proxy toward the viewer.
  std::vector<std::uint8_t> vnc_auth(1, vencrypt::vnc_auth_type);  // (no braced list in a co_await: GCC 12)
  if (!co_await send(*server_stream_, std::move(vnc_auth), false)) co_return true;
  spdlog::warn("session {}: tls.server_security: plain: the server leg uses the server's VncAuth in clear over "
               "loopback ({}); the viewer gets VeNCrypt from the proxy",
               id(), fields_[conf::Field::target_host] + ":" + fields_[conf::Field::target_port]);
  if (!co_await send(*viewer_, vencrypt::server_version(), true)) co_return true;
  if (!co_await receive(*viewer_, 2)) co_return true;  // the parser accepts 0.2 only (else protocol_error)
  if (!co_await send(*viewer_, vencrypt::version_ack(true), true)) co_return true;
  std::vector<std::uint32_t> subtypes;
  if (!listener_->config.tls.cert.empty()) subtypes.push_back(vencrypt::x509_vnc);
  subtypes.push_back(vencrypt::tls_vnc);
  if (!co_await send(*viewer_, vencrypt::subtype_list(subtypes), true)) co_return true;
  if (!co_await receive(*viewer_, 4)) co_return true;  // the parser refuses a subtype not offered
  server_leg_plain_ = true;
  co_await send(*viewer_, vencrypt::tls_ack(), true);  // the parser's TlsStarts sets tls_starting_
  co_return true;
}

}  // namespace vhm::proxy
