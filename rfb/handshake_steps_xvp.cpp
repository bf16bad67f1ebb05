// xvp (22), Colin Dean's Xen VNC Proxy: the client names a user and a target
// system in clear, then VNC authentication and a SecurityResult follow.
//
// Who sends the names was disputed: rfbproto's "xvp Authentication" section
// says the server sends them, but both implementations have the CLIENT send
// them, and that is what is followed here:
//   - xvp 1.16 proxy.c (the server): state XVP_STATE_USER_TARGET reads
//     "U8 user-length, U8 target-length, user-string, target-string" from the
//     client, then sends the VNC authentication challenge;
//   - noVNC core/rfb.js _negotiateXvpAuth (a client): sends the same four
//     fields, then negotiates standard VNC authentication.
// The user goes out as UserNameSeen, the target into Summary::xvp_target.
#include "rfb/handshake_machine.hpp"

namespace vhm::rfb::detail {

Outcome step_xvp_credentials(Machine& m, ByteReader& in) {
  std::uint8_t user_length = 0, target_length = 0;
  if (!in.u8(user_length) || !in.u8(target_length)) return Outcome::need_more;
  if (user_length > m.limits.max_user_name_length)
    return m.fail(too_long("client sent a user name", user_length, m.limits.max_user_name_length));
  std::string user, target;
  if (!in.text(user_length, user) || !in.text(target_length, target)) return Outcome::need_more;
  m.summary.xvp_target = std::move(target);
  m.emit(UserNameSeen{std::move(user)});
  return m.go(Step::vnc_challenge);
}

}  // namespace vhm::rfb::detail
