// The Tight security type (16): tunnel and authentication capability lists,
// then the chosen authentication; after ServerInit, the interaction
// capability lists. Layout per rfbproto ("Tight Security Type", "Tight Unix
// Login Authentication"), checked against TurboVNC's server
// (unix/Xvnc/programs/Xserver/hw/vnc/auth.c: rfbSendTunnelingCaps,
// rfbSendAuthCaps, AuthPAMUserPwdRspFunc, rfbVeNCryptAuthenticate) and
// noVNC's client (core/rfb.js: _negotiateTightAuth, _negotiateTightUnixAuth).
//
// Authentication capabilities (rfbproto's registry):
//   1 STDV NOAUTH__  None: SecurityResult only from 3.8 on
//   2 STDV VNCAUTH_  VNC authentication
//  19 VENC VENCRYPT  VeNCrypt, exactly as security type 19 (TurboVNC)
//  20 GTKV SASL____  SASL: not followed, result unknown
// 129 TGHT ULGNAUTH  Unix login: u32 user length, u32 password length, user,
//                    password; the user is reported, the password skipped
// 130 TGHT XTRNAUTH  External: no implementation documents its bytes, so the
//                    result is reported unknown rather than guessed
#include <algorithm>

#include "rfb/handshake_machine.hpp"

namespace vhm::rfb::detail {
namespace {

constexpr std::uint32_t tunnel_none = 0;  // "TGHT" "NOTUNNEL"
constexpr std::uint32_t auth_none = 1, auth_vnc = 2, auth_vencrypt = 19, auth_unix_login = 129;

// u32 count + count capabilities; collects the codes.
Outcome read_capability_list(Machine& m, ByteReader& in, const char* what, std::vector<std::uint32_t>& codes) {
  std::uint32_t count = 0;
  if (!in.u32(count)) return Outcome::need_more;
  if (count > m.limits.max_tight_capabilities)
    return m.fail(std::string("server sent a Tight ") + what + " count of " + std::to_string(count) + " (limit " +
                  std::to_string(m.limits.max_tight_capabilities) + ")");
  if (!in.has(std::size_t{count} * tight_capability_size)) return Outcome::need_more;
  codes.clear();
  for (std::uint32_t i = 0; i < count; ++i) {
    std::uint32_t code = 0;
    in.u32(code);
    in.skip(tight_capability_size - 4);  // vendor + signature
    codes.push_back(code);
  }
  return Outcome::advanced;
}

bool offered(const std::vector<std::uint32_t>& codes, std::uint32_t code) {
  return std::find(codes.begin(), codes.end(), code) != codes.end();
}

}  // namespace

Outcome step_tight_tunnels(Machine& m, ByteReader& in) {
  if (const Outcome o = read_capability_list(m, in, "tunnel", m.tight_tunnels); o != Outcome::advanced) return o;
  return m.go(m.tight_tunnels.empty() ? Step::tight_auth_types : Step::tight_tunnel_choice);
}

Outcome step_tight_tunnel_choice(Machine& m, ByteReader& in) {
  std::uint32_t code = 0;
  if (!in.u32(code)) return Outcome::need_more;
  // NOTUNNEL is accepted even when not listed: Siemens panels offer only their
  // own "SICR SCHANNEL" tunnel yet expect NOTUNNEL, and noVNC picks it for them.
  if (code != tunnel_none && !offered(m.tight_tunnels, code))
    return m.fail("client chose Tight tunnel " + std::to_string(code) +
                  ", which the server did not offer (offered: " + list_text(m.tight_tunnels) + ")");
  if (code != tunnel_none) return begin_opaque(m);  // a real tunnel hides the rest
  return m.go(Step::tight_auth_types);
}

Outcome step_tight_auth_types(Machine& m, ByteReader& in) {
  if (const Outcome o = read_capability_list(m, in, "authentication capability", m.tight_auth_types);
      o != Outcome::advanced)
    return o;
  if (m.tight_auth_types.empty()) return begin_none(m);  // no list: proceeds as None
  return m.go(Step::tight_auth_choice);
}

Outcome step_tight_auth_choice(Machine& m, ByteReader& in) {
  std::uint32_t code = 0;
  if (!in.u32(code)) return Outcome::need_more;
  if (!offered(m.tight_auth_types, code))
    return m.fail("client chose Tight authentication " + std::to_string(code) +
                  ", which the server did not offer (offered: " + list_text(m.tight_auth_types) + ")");
  switch (code) {
    case auth_none:
      return begin_none(m);
    case auth_vnc:
      return m.go(Step::vnc_challenge);
    case auth_vencrypt:
      return m.go(Step::vencrypt_server_version);
    case auth_unix_login:
      return m.go(Step::credentials);
    default:  // SASL, External, vendor codes
      return begin_opaque(m);
  }
}

Outcome step_tight_interaction_caps(Machine& m, ByteReader& in) {
  std::uint16_t server_messages = 0, client_messages = 0, encodings = 0, padding = 0;
  if (!in.u16(server_messages) || !in.u16(client_messages) || !in.u16(encodings) || !in.u16(padding))
    return Outcome::need_more;
  const auto check = [&](const char* what, std::uint16_t count) {
    return count <= m.limits.max_tight_capabilities
               ? std::string()
               : std::string("server sent a Tight ") + what + " capability count of " + std::to_string(count) +
                     " (limit " + std::to_string(m.limits.max_tight_capabilities) + ")";
  };
  for (const auto& problem : {check("server message", server_messages), check("client message", client_messages),
                              check("encoding", encodings)})
    if (!problem.empty()) return m.fail(problem);
  const std::size_t total = std::size_t{server_messages} + client_messages + encodings;
  if (!in.skip(total * tight_capability_size)) return Outcome::need_more;
  return m.finish();
}

}  // namespace vhm::rfb::detail
