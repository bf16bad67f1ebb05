// Security negotiation (3.3: the server decides; 3.7+: the server offers, the
// client picks), VNC authentication, SecurityResult, and the hand-off to each
// security type's own sub-protocol. RA2 (5), RA2r (13), TLS (18) and anything
// unlisted stay opaque: their result is encrypted or their layout unknown.
#include <algorithm>

#include "rfb/handshake_machine.hpp"

namespace vhm::rfb::detail {
namespace {

constexpr std::uint8_t type_none = 1, type_vnc = 2, type_ra2ne = 6, type_tight = 16, type_tls = 18,
                       type_vencrypt = 19, type_xvp = 22, type_apple_dh = 30, type_mslogon2 = 113;
constexpr std::uint32_t result_ok = 0, result_failed = 1, result_too_many = 2;

// A refusal: u32 length + reason, as after 3.3 type 0 or a 3.7+ count of 0.
Outcome read_refusal(Machine& m, ByteReader& in) {
  std::uint32_t length = 0;
  if (!in.u32(length)) return Outcome::need_more;
  if (length > m.limits.max_reason_length)
    return m.fail(too_long("server sent a refusal reason", length, m.limits.max_reason_length));
  std::string reason;
  if (!in.text(length, reason)) return Outcome::need_more;
  m.emit(ConnectionRefused{std::move(reason)});
  return m.finish();
}

}  // namespace

Outcome step_security_33(Machine& m, ByteReader& in) {
  std::uint32_t type = 0;
  if (!in.u32(type)) return Outcome::need_more;
  if (type == 0) return read_refusal(m, in);
  if (type > 255) return m.fail("server sent security type " + std::to_string(type) + " in a 3.3 handshake");
  const auto chosen = static_cast<std::uint8_t>(type);
  m.offered_types = {chosen};
  m.emit(SecurityTypesOffered{{chosen}});
  m.emit(SecurityTypeChosen{chosen});  // in 3.3 the server's word is the choice
  return begin_security_type(m, chosen);
}

Outcome step_security_types(Machine& m, ByteReader& in) {
  std::uint8_t count = 0;
  if (!in.u8(count)) return Outcome::need_more;
  if (count == 0) return read_refusal(m, in);
  std::span<const std::uint8_t> types;
  if (!in.bytes(count, types)) return Outcome::need_more;
  m.offered_types.assign(types.begin(), types.end());
  m.emit(SecurityTypesOffered{m.offered_types});
  return m.go(Step::security_choice);
}

Outcome step_security_choice(Machine& m, ByteReader& in) {
  std::uint8_t type = 0;
  if (!in.u8(type)) return Outcome::need_more;
  if (std::find(m.offered_types.begin(), m.offered_types.end(), type) == m.offered_types.end())
    return m.fail("client chose security type " + std::to_string(type) +
                  ", which the server did not offer (offered: " + list_text(m.offered_types) + ")");
  m.emit(SecurityTypeChosen{type});
  return begin_security_type(m, type);
}

Outcome begin_security_type(Machine& m, std::uint8_t type) {
  switch (type) {
    case type_none:
      return begin_none(m);
    case type_vnc:
      return m.go(Step::vnc_challenge);
    case type_tight:
      m.tight_active = true;
      return m.go(Step::tight_tunnels);
    case type_vencrypt:
      return m.go(Step::vencrypt_server_version);
    case type_xvp:
      return m.go(Step::xvp_credentials);
    case type_apple_dh:
      return m.go(Step::apple_dh_server_key);
    case type_mslogon2:
      return m.go(Step::mslogon_server_key);
    case type_ra2ne:
      return m.go(Step::ra2_server_key);
    case type_tls:  // TLS starts right after the choice
    default:
      return begin_opaque(m);
  }
}

Outcome begin_none(Machine& m) {
  if (m.is_38()) return m.go(Step::security_result);
  m.emit(AuthResultSeen{AuthResult::ok, {}});  // 3.3 / 3.7: no SecurityResult for None
  return m.go(Step::client_init);
}

Outcome begin_opaque(Machine& m) {
  m.emit(AuthResultSeen{AuthResult::unknown, {}});
  return m.finish();
}

// The challenge and response are skipped, never copied out of the pending
// buffer, which wipes them as they are consumed.
Outcome step_vnc_challenge(Machine& m, ByteReader& in) {
  if (!in.skip(vnc_challenge_size)) return Outcome::need_more;
  return m.go(Step::vnc_response);
}

Outcome step_vnc_response(Machine& m, ByteReader& in) {
  if (!in.skip(vnc_challenge_size)) return Outcome::need_more;
  return m.go(Step::security_result);
}

Outcome step_security_result(Machine& m, ByteReader& in) {
  std::uint32_t result = 0;
  if (!in.u32(result)) return Outcome::need_more;
  switch (result) {
    case result_ok:
      m.emit(AuthResultSeen{AuthResult::ok, {}});
      return m.go(Step::client_init);
    case result_failed: {
      std::string reason;
      if (m.is_38()) {  // 3.8 explains the failure; 3.3 / 3.7 servers just close
        std::uint32_t length = 0;
        if (!in.u32(length)) return Outcome::need_more;
        if (length > m.limits.max_reason_length)
          return m.fail(too_long("server sent a failure reason", length, m.limits.max_reason_length));
        if (!in.text(length, reason)) return Outcome::need_more;
      }
      m.emit(AuthResultSeen{AuthResult::failed, std::move(reason)});
      return m.finish();
    }
    case result_too_many:
      // Tight's "too many attempts". Servers differ on whether a reason string
      // follows, so none is waited for: the result is reported at once.
      m.emit(AuthResultSeen{AuthResult::failed, "too many authentication attempts"});
      return m.finish();
    default:
      return m.fail("server sent an unknown SecurityResult " + std::to_string(result));
  }
}

}  // namespace vhm::rfb::detail
