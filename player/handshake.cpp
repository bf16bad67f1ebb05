#include "player/handshake.hpp"

#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>

#include <array>
#include <vector>

#include "player/vnc_auth.hpp"
#include "rfb/protocol_version.hpp"
#include "rfb/quote.hpp"

namespace vhm::player {
namespace {

constexpr std::uint8_t security_none = 1;
constexpr std::uint8_t security_vnc = 2;

void put_u32(std::vector<std::uint8_t>& out, std::uint32_t v) {
  out.insert(out.end(), {std::uint8_t(v >> 24), std::uint8_t(v >> 16), std::uint8_t(v >> 8), std::uint8_t(v)});
}

awaitable<bool> send(tcp::socket& socket, std::span<const std::uint8_t> bytes) {
  auto [error, n] = co_await asio::async_write(socket, asio::buffer(bytes.data(), bytes.size()), use_tuple);
  co_return !error;
}

awaitable<bool> receive(tcp::socket& socket, std::span<std::uint8_t> bytes) {
  auto [error, n] = co_await asio::async_read(socket, asio::buffer(bytes.data(), bytes.size()), use_tuple);
  co_return !error;
}

// SecurityResult "failed"; 3.8 adds the reason, earlier versions just close.
awaitable<void> send_failure(tcp::socket& socket, bool with_reason, const std::string& reason) {
  std::vector<std::uint8_t> out;
  put_u32(out, 1);
  if (with_reason) {
    put_u32(out, static_cast<std::uint32_t>(reason.size()));
    out.insert(out.end(), reason.begin(), reason.end());
  }
  co_await send(socket, out);
}

HandshakeOutcome failed(std::string why) { return {false, {}, {}, std::move(why)}; }

constexpr const char* closed_early = "closed the connection during the handshake";

}  // namespace

awaitable<HandshakeOutcome> serve_handshake(tcp::socket& socket, const HandshakeSettings& settings) {
  static constexpr std::string_view greeting = "RFB 003.008\n";
  if (!co_await send(socket, {reinterpret_cast<const std::uint8_t*>(greeting.data()), greeting.size()}))
    co_return failed(closed_early);

  std::array<std::uint8_t, rfb::detail::version_message_size> version_bytes{};
  if (!co_await receive(socket, version_bytes)) co_return failed(closed_early);
  const auto version = rfb::detail::read_version_message(version_bytes);
  using Kind = rfb::detail::VersionMessage::Kind;
  if (version.kind != Kind::valid)
    co_return failed("sent " + rfb::detail::quote(version_bytes) + ", which is no RFB version the player speaks");
  const int minor = version.effective.minor;  // 3, 7 or 8
  HandshakeOutcome outcome;
  outcome.version = "3." + std::to_string(minor);

  const bool vnc_auth = !settings.password.empty();
  const std::uint8_t offered = vnc_auth ? security_vnc : security_none;
  outcome.security = vnc_auth ? "VncAuth" : "None";
  if (minor == 3) {
    std::vector<std::uint8_t> type;
    put_u32(type, offered);  // 3.3: the server decides
    if (!co_await send(socket, type)) co_return failed(closed_early);
  } else {
    const std::array<std::uint8_t, 2> types{1, offered};
    if (!co_await send(socket, types)) co_return failed(closed_early);
    std::array<std::uint8_t, 1> chosen{};
    if (!co_await receive(socket, chosen)) co_return failed(closed_early);
    if (chosen[0] != offered) {
      const std::string why = "chose security type " + std::to_string(chosen[0]) + ", which was not offered";
      co_await send_failure(socket, minor >= 8, "security type not offered");
      co_return failed(why);
    }
  }

  if (vnc_auth) {
    const auto challenge = random_vnc_challenge();
    if (!co_await send(socket, challenge)) co_return failed(closed_early);
    std::array<std::uint8_t, 16> response{};
    if (!co_await receive(socket, response)) co_return failed(closed_early);
    if (!vnc_auth_matches(settings.password, challenge, response)) {
      co_await send_failure(socket, minor >= 8, "Authentication failed: wrong password");
      co_return failed("authentication failed (wrong password)");
    }
  }
  if (vnc_auth || minor >= 8) {  // None has a SecurityResult only from 3.8 on
    const std::array<std::uint8_t, 4> ok{0, 0, 0, 0};
    if (!co_await send(socket, ok)) co_return failed(closed_early);
  }

  std::array<std::uint8_t, 1> client_init{};  // the shared flag: every viewer gets its own playback anyway
  if (!co_await receive(socket, client_init)) co_return failed(closed_early);
  if (!co_await send(socket, settings.server_init)) co_return failed(closed_early);
  outcome.ok = true;
  co_return outcome;
}

}  // namespace vhm::player
