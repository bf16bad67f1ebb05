// Scanner shield (docs/scanner-shield.md). Behind the proxy every viewer
// reaches the server from the proxy's address, and servers such as Xvnc
// blacklist an address after a few connections that end before
// authentication: a port scanner passed through would lock every user out.
// So the proxy speaks first, as the server would (the ProtocolVersion that
// target last sent, else the listener's server_version, else 3.8), and dials
// only once the viewer answered with a valid version. After the dial it reads
// the server's own version message: when it is the greeting, the viewer's
// answer goes on and both ends have seen exactly the bytes of a direct
// connection. When the server speaks another version that still accepts the
// viewer's answer, the answer goes on too; only a server older than the
// viewer's answer cannot be joined, and then the viewer is told in RFB's own
// words (the server's refusal, or "connect again" once its version is learned).
// A target whose version was learned gets the viewer's answer right after the
// dial, before its own version is read: a server reads the answer only after
// writing its version, so nothing changes for it, and the handshake saves the
// wait for the server's version and the proxy's turn after it. A target that
// then answers otherwise is forgotten, so the next viewer takes the careful path.
#include "util/log.hpp"

#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>

#include <array>

#include "proxy/session.hpp"
#include "rfb/protocol_version.hpp"
#include "rfb/refusal.hpp"
#include "util/printable.hpp"

namespace vhm::proxy {

namespace {

std::string version_text(const VersionMessageBytes& message) {
  return std::string(message.begin(), message.end() - 1);  // without the newline
}

// The handshake a version message selects (3.3, 3.7, 3.8); {0,0} if none.
rfb::Version effective(const VersionMessageBytes& message) {
  const auto parsed = rfb::detail::read_version_message(message);
  return parsed.kind == rfb::detail::VersionMessage::Kind::valid ? parsed.effective : rfb::Version{};
}

}  // namespace

VersionMessageBytes Session::greeting() {
  if (services_.server_versions)
    if (auto learned = services_.server_versions->lookup(target_text())) {
      greeted_as_learned_ = true;
      return *learned;
    }
  if (const auto& configured = listener_->config.server_version)
    return version_message(configured->first, configured->second);
  return version_message(3, 8);
}

awaitable<bool> Session::greet_viewer() {
  HandshakePhase phase(*this);
  greeted_with_ = greeting();
  parser_.emplace(rfb::Limits{}, tls_visibility());
  bytes_out_ += greeted_with_.size();
  observe(rfb::Direction::server_to_client, greeted_with_);
  auto [write_error, written] = co_await asio::async_write(*viewer_, asio::buffer(greeted_with_), use_tuple);
  if (write_error) {
    fail_socket(true, write_error);
    co_return false;
  }
  // Exactly 12 bytes, never more: what follows is the server's business. The
  // parser decides on each piece (an early newline is already an error).
  VersionMessageBytes answer{};
  std::size_t have = 0;
  while (have < answer.size() && !closing_) {
    auto [read_error, n] =
        co_await viewer_->async_read_some(asio::buffer(answer.data() + have, answer.size() - have), use_tuple);
    if (read_error) {
      if (read_error == asio::error::eof)
        note_end(DisconnectReason::client_closed, have == 0 ? "closed without a ProtocolVersion"
                                                            : "closed within its ProtocolVersion");
      note_socket_end(true, read_error);
      co_return false;
    }
    bytes_in_ += n;
    observe(rfb::Direction::client_to_server, std::span<const std::uint8_t>(answer.data() + have, n));
    have += n;
  }
  if (closing_) co_return false;
  viewer_version_ = answer;
  co_return true;
}

std::size_t Session::answer_server_early() {
  // 12 bytes into a fresh connection's empty send buffer: written at once,
  // without a turn of the loop. A TLS target (target_tls) takes the usual path.
  if (!greeted_as_learned_ || listener_->config.target_tls) return 0;
  boost::system::error_code error;
  const std::size_t written = asio::write(server_, asio::buffer(*viewer_version_), error);
  // A server that refuses and hangs up may have closed already: its refusal
  // is still read below, and a real failure shows there too.
  if (error) spdlog::debug("session {}: early ProtocolVersion to {}: {}", id(), target_text(), error.message());
  return written;
}

awaitable<bool> Session::join_server_version() {
  HandshakePhase phase(*this);
  const std::size_t answered = answer_server_early();
  VersionMessageBytes theirs{};
  auto [read_error, read] = co_await asio::async_read(*server_stream_, asio::buffer(theirs), use_tuple);
  if (read_error) {
    if (read_error == asio::error::eof)
      note_end(DisconnectReason::server_closed, "the server closed before sending its ProtocolVersion");
    fail_socket(false, read_error);
    co_return false;
  }
  const auto pass_viewer_version = [this, answered]() -> awaitable<bool> {
    if (answered == viewer_version_->size()) co_return true;
    auto [write_error, written] =
        co_await asio::async_write(*server_stream_, asio::buffer(*viewer_version_) + answered, use_tuple);
    if (write_error) {
      fail_socket(false, write_error);
      co_return false;
    }
    co_return true;
  };
  if (theirs == greeted_with_) {  // the usual case: the parser already saw exactly this
    server_version_ = theirs;
    co_return co_await pass_viewer_version();
  }
  if (greeted_as_learned_ && services_.server_versions) services_.server_versions->forget(target_text());

  // The server's version is not the greeting: the parser follows what the
  // server really said from here on.
  const auto viewer = effective(*viewer_version_);
  parser_.emplace(rfb::Limits{}, tls_visibility());
  observe(rfb::Direction::server_to_client, theirs);  // garbage: protocol_error, closed
  if (closing_) co_return false;
  const auto server = effective(theirs);
  spdlog::info("session {}: {} answered \"{}\", the viewer was greeted with \"{}\" and answered \"{}\"", id(),
               target_text(), version_text(theirs), version_text(greeted_with_), version_text(*viewer_version_));
  if (viewer.minor <= server.minor) {  // the server takes the viewer's answer as it is
    server_version_ = theirs;
    observe(rfb::Direction::client_to_server, *viewer_version_);
    if (closing_) co_return false;
    co_return co_await pass_viewer_version();
  }

  // The viewer expects a later handshake than this server speaks. Ask in the
  // server's own version what it has to say: a refusal (a blacklisting Xvnc
  // answers 3.3 whatever it normally speaks) is passed on; security types
  // mean the server really speaks this version now, so it is learned and the
  // viewer asked to connect again.
  observe(rfb::Direction::client_to_server, theirs);
  // A blacklisting Xvnc sends its refusal with its version, unasked, and
  // hangs up: what is already there is read first, so writing to a closed
  // peer cannot reset the connection and lose the refusal.
  boost::system::error_code ignored;
  bool asked = answered > 0;  // an early answer asked already: the server's reply says what it speaks now
  std::array<std::uint8_t, 512> chunk{};
  while (!closing_) {
    if (!asked && server_.available(ignored) == 0) {
      asked = true;
      auto [write_error, written] = co_await asio::async_write(*server_stream_, asio::buffer(theirs), use_tuple);
      if (write_error) {
        fail_socket(false, write_error);
        co_return false;
      }
    }
    auto [error, n] = co_await server_stream_->async_read_some(asio::buffer(chunk), use_tuple);
    if (error) {
      fail_socket(false, error);
      co_return false;
    }
    auto result = parser_->feed(rfb::Direction::server_to_client, std::span<const std::uint8_t>(chunk.data(), n));
    for (const auto& event : result.events) {
      apply(event);
      if (const auto* refused = std::get_if<rfb::ConnectionRefused>(&event)) {
        note_end(DisconnectReason::server_closed, "the server refused the connection");
        co_await refuse_greeted_viewer(refused->reason);
        co_return false;
      }
      if (std::holds_alternative<rfb::SecurityTypesOffered>(event)) {
        server_version_ = theirs;
        learn_server_version();
        note_end(DisconnectReason::protocol_error,
                 "the server now speaks " + version_text(theirs) + ", older than the viewer's answer " +
                     version_text(*viewer_version_) + " to the greeting; learned for the next connection");
        co_await refuse_greeted_viewer("The VNC server's protocol version changed; please connect again.");
        co_return false;
      }
    }
    if (result.status == rfb::Status::error) {
      close(DisconnectReason::protocol_error, result.error);
      co_return false;
    }
  }
  co_return false;
}

awaitable<bool> Session::refuse_greeted_viewer(const std::string& reason) {
  // The viewer answered our greeting, so it expects the security step of the
  // lower of the two versions.
  const auto mine = effective(greeted_with_);
  const auto viewer = effective(*viewer_version_);
  const auto version = viewer.minor < mine.minor ? viewer : mine;
  const auto message = rfb::connection_refusal(version, reason);
  bytes_out_ += message.size();
  auto [error, written] = co_await asio::async_write(*viewer_, asio::buffer(message), use_tuple);
  if (!error) co_await end_viewer_in_order();
  close(end_reason_.value_or(DisconnectReason::protocol_error), end_detail_);
  co_return !error;
}

void Session::learn_server_version() {
  if (!server_version_ || !services_.server_versions) return;
  if (services_.server_versions->learn(target_text(), *server_version_))
    spdlog::info("session {}: {} speaks \"{}\": viewers are greeted with it from now on", id(), target_text(),
                 version_text(*server_version_));
}

}  // namespace vhm::proxy
