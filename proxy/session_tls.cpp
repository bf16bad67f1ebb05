// VeNCrypt termination, `vencrypt: terminate` (docs/vencrypt.md). The copying
// pumps relay and parse the handshake as usual until the server's ack says TLS
// starts; that ack reaches the viewer and the pumps stop before reading
// further. Here the proxy then runs TLS with the viewer (as server) and with
// the VNC server (as client), both bounded by the handshake timeout, and
// relays the inner protocol between them with the same parser fed the
// plaintext, so VncAuth results, Plain user names and ServerInit are seen.
// The plaintext exists only inside this process.
#include <openssl/ssl.h>
#include "util/log.hpp"

#include <boost/asio/ssl/stream.hpp>

#include <variant>

#include "proxy/relay/legs.hpp"
#include "proxy/relay/prefixed_transport.hpp"
#include "proxy/session.hpp"
#include "proxy/tls_legs.hpp"
#include "rfb/vencrypt_messages.hpp"
#include "tls/error_text.hpp"

namespace vhm::proxy {

using conf::Field;
using namespace asio::experimental::awaitable_operators;

namespace {

bool terminates(const conf::ListenerConfig& config) { return config.vencrypt == conf::VeNCryptMode::terminate; }

std::string describe_session(SSL* ssl) {
  return std::string(SSL_get_version(ssl)) + " " + SSL_get_cipher_name(ssl);
}

}  // namespace

rfb::TlsVisibility Session::tls_visibility() const {
  return terminates(listener_->config) ? rfb::TlsVisibility::terminated : rfb::TlsVisibility::opaque;
}

void Session::note_vencrypt_offer(const rfb::VeNCryptSubtypesOffered& offer) {
  if (!terminates(listener_->config) || !listener_->config.tls.cert.empty()) return;
  for (const auto subtype : offer.subtypes) {
    if (!rfb::vencrypt::uses_certificate(subtype)) continue;
    spdlog::warn("session {}: the server offers {} but the listener has no tls.cert: a viewer that picks it "
                 "is disconnected",
                 id(), rfb::vencrypt_subtype_name(subtype));
    return;
  }
}

void Session::note_tls_starts(const rfb::TlsStarts& starts) {
  if (!terminates(listener_->config)) return;  // pass: the parser reports the result as unknown
  tls_starting_ = true;
  tls_subtype_ = starts.subtype;
}

// GCC 12 with -fsanitize=address inlines Asio's frame allocator here and then
// reports a bogus -Wmismatched-new-delete (aligned_alloc vs. the frame's own
// operator delete, which frees it correctly).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
awaitable<void> Session::relay_tls() {
  std::string target_name = fields_[Field::target_host];
  boost::system::error_code ignored;
  if (target_name.empty()) target_name = server_.remote_endpoint(ignored).address().to_string();
  auto legs = make_tls_legs(listener_->config.tls, tls_subtype_, server_leg_plain_, target_name);
  if (!legs.error.empty()) {
    spdlog::warn("session {}: tls_error: {}", id(), legs.error);
    close(DisconnectReason::tls_error, legs.error);
    co_return;
  }
  // TLS inside the viewer's transport; the first TLS bytes may already have been read (relay/prefixed_transport.hpp).
  relay::PrefixedTransport viewer_transport(*viewer_, std::move(tls_prefix_[0]));
  TlsStream viewer(viewer_transport, *legs.viewer);
  if (server_leg_plain_) {
    co_await relay_tls_legs(viewer, *server_stream_);
    co_return;
  }
  TlsStream server(*server_stream_, *legs.server);
  tls::set_server_name(server.native_handle(), legs.trust.name);
  co_await relay_tls_legs(viewer, server);
}
#pragma GCC diagnostic pop

namespace {

// One leg's handshake. A failure ends the session with tls_error naming the
// leg; an abort means the session is already closing for another reason.
template <typename Stream>
awaitable<void> handshake_leg(Session& session, Stream& stream, bool viewer_leg) {
  const auto type = viewer_leg ? asio::ssl::stream_base::server : asio::ssl::stream_base::client;
  auto [error] = co_await stream.async_handshake(type, use_tuple);
  if (error && error != asio::error::operation_aborted)
    session.close(DisconnectReason::tls_error, std::string(viewer_leg ? "viewer" : "server") +
                                                   " leg: TLS handshake failed: " +
                                                   tls::describe_error(error, stream.native_handle()));
}

}  // namespace

template <typename ServerStream>
awaitable<void> Session::relay_tls_legs(TlsStream& viewer, ServerStream& server) {
  constexpr bool server_tls = std::is_same_v<ServerStream, TlsStream>;
  running_pumps_ = 2;  // `ctl sessions`: "handshake"
  // Both handshakes at once, within what is left of the handshake timeout;
  // the first failure closes the session, which ends the other one.
  if (handshake_deadline_ == std::chrono::steady_clock::time_point{})
    handshake_deadline_ = std::chrono::steady_clock::now() + listener_->config.handshake_timeout;
  asio::steady_timer deadline(server_.get_executor());
  deadline.expires_at(handshake_deadline_);
  std::variant<std::monostate, std::tuple<boost::system::error_code>> outcome;
  if constexpr (server_tls)
    outcome = co_await ((handshake_leg(*this, viewer, true) && handshake_leg(*this, server, false)) ||
                        deadline.async_wait(use_tuple));
  else
    outcome = co_await (handshake_leg(*this, viewer, true) || deadline.async_wait(use_tuple));
  if (outcome.index() == 1 && !closing_)
    close(DisconnectReason::timeout, "TLS handshakes not finished within the handshake timeout (" +
                                         std::to_string(listener_->config.handshake_timeout.count()) + "s)");
  if (closing_) co_return;

  if constexpr (server_tls) {
    if (rfb::vencrypt::uses_certificate(tls_subtype_)) {  // anonymous TLS has no certificate to pin
      tls::ServerTrust pin;
      pin.fingerprint = listener_->config.tls.server_fingerprint;
      if (auto problem = tls::pinned_certificate_problem(server.native_handle(), pin)) {
        close(DisconnectReason::tls_error, "server leg: " + *problem);
        co_return;
      }
    }
    spdlog::info("session {}: TLS terminated for VeNCrypt/{}: viewer leg {}, server leg {}", id(),
                 rfb::vencrypt_subtype_name(tls_subtype_), describe_session(viewer.native_handle()),
                 describe_session(server.native_handle()));
  } else {
    spdlog::info("session {}: TLS terminated for VeNCrypt/{}: viewer leg {}, server leg plain VncAuth", id(),
                 rfb::vencrypt_subtype_name(tls_subtype_), describe_session(viewer.native_handle()));
  }
  // The inner protocol, parsed like the plaintext one, until either side ends.
  tls_running_ = true;
  relay::StreamLeg<TlsStream> viewer_leg(viewer, stream_buffer);
  relay::StreamLeg<ServerStream> server_leg(server, stream_buffer);
  HandshakePhase phase(*this);  // the inner handshake until its ServerInit
  co_await (pump(viewer_leg, server_leg, rfb::Direction::client_to_server) &&
            pump(server_leg, viewer_leg, rfb::Direction::server_to_client));
}

}  // namespace vhm::proxy
