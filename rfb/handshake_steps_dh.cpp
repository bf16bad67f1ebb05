// The two Diffie-Hellman logins whose messages have known lengths, so the
// plain SecurityResult after them can be found. Both encrypt the user name
// with the credentials: no user is reported. Key material is skipped, never
// copied out of the pending buffer (which wipes what it lets go of).
//
// Apple DH / ARD (30), layout per rfbproto "Diffie-Hellman Authentication",
// libvncclient (LibVNC/libvncserver src/libvncclient/rfbclient.c,
// HandleARDAuth) and noVNC (core/rfb.js, _negotiateARDAuth):
//   S: u16 generator, u16 key-length, prime[key-length], public[key-length]
//   C: 128 bytes AES-ECB credentials, public[key-length]
//
// MSLogonII (113), UltraVNC's; layout per libvncclient (rfbclient.c,
// HandleUltraMSLogonIIAuth) and noVNC (_negotiateMSLogonIIAuth):
//   S: u64 generator, u64 modulus, u64 public value
//   C: u64 public value, 256 bytes DES user name, 64 bytes DES password
#include "rfb/handshake_machine.hpp"

namespace vhm::rfb::detail {

Outcome step_apple_dh_server_key(Machine& m, ByteReader& in) {
  std::uint16_t generator = 0, key_length = 0;
  if (!in.u16(generator) || !in.u16(key_length)) return Outcome::need_more;
  if (key_length == 0) return m.fail("server sent an Apple DH key length of 0");
  if (key_length > m.limits.max_dh_key_length)
    return m.fail(too_long("server sent an Apple DH key", key_length, m.limits.max_dh_key_length));
  if (!in.skip(2 * std::size_t{key_length})) return Outcome::need_more;  // prime, server public value
  m.dh_key_length = key_length;
  return m.go(Step::apple_dh_client_key);
}

Outcome step_apple_dh_client_key(Machine& m, ByteReader& in) {
  if (!in.skip(apple_dh_credentials_size + m.dh_key_length)) return Outcome::need_more;
  return m.go(Step::security_result);
}

Outcome step_mslogon_server_key(Machine& m, ByteReader& in) {
  if (!in.skip(mslogon_server_key_size)) return Outcome::need_more;
  return m.go(Step::mslogon_client_key);
}

Outcome step_mslogon_client_key(Machine& m, ByteReader& in) {
  if (!in.skip(mslogon_client_key_size)) return Outcome::need_more;
  return m.go(Step::security_result);
}

}  // namespace vhm::rfb::detail
