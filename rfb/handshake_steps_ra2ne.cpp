// RA2ne (6): TigerVNC's RSA-AES with "no encryption after authentication".
//
// Decision: followed to its plaintext SecurityResult. Source: TigerVNC
// common/rfb/SSecurityRSAAES.cxx and CSecurityRSAAES.cxx (rdr/AESOutStream.cxx
// for the record framing), cross-checked with rfbproto "RSA-AES Security Type"
// and noVNC core/rfb.js _negotiateRA2neAuth. Every message carries its length
// in clear, so the exchange can be stepped over without decrypting anything:
//   S: u32 key bits, modulus[ceil(bits/8)], exponent[ceil(bits/8)]
//   C: the same for the client's key
//   S: u16 length (= client key bytes), RSA-encrypted random
//   C: u16 length (= server key bytes), RSA-encrypted random
//   then AES-EAX records, each u16 length + payload + 16-byte MAC:
//   S: server hash (20 bytes, SHA-1)      C: client hash (20 bytes)
//   S: subtype (1 byte)                   C: credentials (u8 + user + u8 + password: 2..512 bytes)
//   S: SecurityResult, in clear for RA2ne (isAllEncrypted = false), then
//      ClientInit / ServerInit in clear.
// TigerVNC and noVNC write each of those as exactly one record. rfbproto notes
// that the encryption layer need not follow message boundaries, and type 6 is
// also RealVNC's own undocumented RA2ne. So anything that does not match the
// layout above (key size outside TigerVNC's 1024..8192 bits, a random of the
// wrong length, records of other sizes) is not treated as a protocol error:
// the result is reported unknown ("result hidden by RA2ne") and the parser
// finishes, leaving the session alone. The user name is encrypted: not visible.
#include "rfb/handshake_machine.hpp"

namespace vhm::rfb::detail {
namespace {

constexpr std::uint32_t min_key_bits = 1024, max_key_bits = 8192;  // TigerVNC MinKeyLength / MaxKeyLength
constexpr std::size_t mac_size = 16;
constexpr std::size_t hash_size = 20;  // SHA-1 for RA2ne (RA2ne_256, type 130, would use 32)
constexpr std::size_t subtype_size = 1;
constexpr std::size_t min_credentials = 2, max_credentials = 2 + 255 + 255;

Outcome hidden(Machine& m) {
  m.emit(AuthResultSeen{AuthResult::unknown, "result hidden by RA2ne"});
  return m.finish();
}

Outcome read_key(Machine& m, ByteReader& in, std::size_t& key_bytes) {
  std::uint32_t bits = 0;
  if (!in.u32(bits)) return Outcome::need_more;
  if (bits < min_key_bits || bits > max_key_bits) return hidden(m);
  const std::size_t bytes = (std::size_t{bits} + 7) / 8;
  if (!in.skip(2 * bytes)) return Outcome::need_more;  // modulus, exponent
  key_bytes = bytes;
  return Outcome::advanced;
}

Outcome read_random(Machine& m, ByteReader& in, std::size_t expected) {
  std::uint16_t length = 0;
  if (!in.u16(length)) return Outcome::need_more;
  if (length != expected) return hidden(m);
  if (!in.skip(length)) return Outcome::need_more;
  return Outcome::advanced;
}

Outcome read_record(Machine& m, ByteReader& in, std::size_t min_payload, std::size_t max_payload) {
  std::uint16_t length = 0;
  if (!in.u16(length)) return Outcome::need_more;
  if (length < min_payload || length > max_payload) return hidden(m);
  if (!in.skip(std::size_t{length} + mac_size)) return Outcome::need_more;
  return Outcome::advanced;
}

// The next step, unless reading ended the exchange (need more, or hidden).
Outcome then(Machine& m, Outcome read, Step next) {
  if (read != Outcome::advanced || m.terminal()) return read;
  return m.go(next);
}

}  // namespace

Outcome step_ra2_server_key(Machine& m, ByteReader& in) {
  return then(m, read_key(m, in, m.ra2_server_key_bytes), Step::ra2_client_key);
}

Outcome step_ra2_client_key(Machine& m, ByteReader& in) {
  return then(m, read_key(m, in, m.ra2_client_key_bytes), Step::ra2_server_random);
}

// Each side's random is encrypted with the other side's public key.
Outcome step_ra2_server_random(Machine& m, ByteReader& in) {
  return then(m, read_random(m, in, m.ra2_client_key_bytes), Step::ra2_client_random);
}

Outcome step_ra2_client_random(Machine& m, ByteReader& in) {
  return then(m, read_random(m, in, m.ra2_server_key_bytes), Step::ra2_server_hash);
}

Outcome step_ra2_server_hash(Machine& m, ByteReader& in) {
  return then(m, read_record(m, in, hash_size, hash_size), Step::ra2_client_hash);
}

Outcome step_ra2_client_hash(Machine& m, ByteReader& in) {
  return then(m, read_record(m, in, hash_size, hash_size), Step::ra2_server_subtype);
}

Outcome step_ra2_server_subtype(Machine& m, ByteReader& in) {
  return then(m, read_record(m, in, subtype_size, subtype_size), Step::ra2_client_credentials);
}

Outcome step_ra2_client_credentials(Machine& m, ByteReader& in) {
  return then(m, read_record(m, in, min_credentials, max_credentials), Step::security_result);
}

}  // namespace vhm::rfb::detail
