// User names sent in clear: VeNCrypt Plain and Tight Unix login (user + password),
// VeNCrypt Ident (user only). The user is reported; the password is skipped and
// wiped with the pending buffer, and only its length ever appears in an error.
#include "rfb/handshake_machine.hpp"

namespace vhm::rfb::detail {

Outcome step_credentials(Machine& m, ByteReader& in) {
  std::uint32_t user_length = 0, password_length = 0;
  if (!in.u32(user_length) || !in.u32(password_length)) return Outcome::need_more;
  if (user_length > m.limits.max_user_name_length)
    return m.fail(too_long("client sent a user name", user_length, m.limits.max_user_name_length));
  if (password_length > m.limits.max_password_length)
    return m.fail(too_long("client sent a password", password_length, m.limits.max_password_length));
  std::string user;
  if (!in.text(user_length, user) || !in.skip(password_length)) return Outcome::need_more;
  m.emit(UserNameSeen{std::move(user)});
  return m.go(Step::security_result);
}

Outcome step_ident(Machine& m, ByteReader& in) {
  std::uint32_t user_length = 0;
  if (!in.u32(user_length)) return Outcome::need_more;
  if (user_length > m.limits.max_user_name_length)
    return m.fail(too_long("client sent a user name", user_length, m.limits.max_user_name_length));
  std::string user;
  if (!in.text(user_length, user)) return Outcome::need_more;
  m.emit(UserNameSeen{std::move(user)});
  return m.go(Step::security_result);
}

}  // namespace vhm::rfb::detail
