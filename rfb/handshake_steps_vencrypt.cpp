// VeNCrypt (19), version 0.2 only: version exchange, the subtype list, the
// client's choice, and then either a sub-protocol we can follow in clear
// (None, VncAuth, Plain, Ident) or TLS. Behind TLS the result is hidden unless
// the proxy terminates TLS on both legs (TlsVisibility::terminated) and feeds
// the decrypted inner streams; then the inner exchange is followed like its
// clear counterpart (rfbproto "Subtypes with TLS or X509 prefix").
#include <algorithm>

#include "rfb/handshake_machine.hpp"

namespace vhm::rfb::detail {
namespace {

constexpr std::uint32_t sub_none = 1, sub_vnc = 2, sub_plain = 256, sub_ident = 265;
constexpr std::uint32_t sub_tls_none = 257, sub_tls_vnc = 258, sub_tls_plain = 259, sub_x509_none = 260,
                        sub_x509_vnc = 261, sub_x509_plain = 262;

bool starts_tls(std::uint32_t subtype) {
  return (subtype >= 257 && subtype <= 264) || subtype == 266 || subtype == 267;
}

std::string version_text(std::uint8_t major, std::uint8_t minor) {
  return std::to_string(major) + "." + std::to_string(minor);
}

// The exchange inside a TLS session the proxy terminates, i.e. what the caller
// now feeds decrypted.
Outcome begin_tls_inner(Machine& m, std::uint32_t subtype) {
  switch (subtype) {
    case sub_tls_none:
    case sub_x509_none:
      // A SecurityResult in every version, unlike plain None before 3.8:
      // rfbproto ("Subtypes with None suffix"), libvncclient rfbclient.c
      // (rfbHandleAuthResult for rfbVeNCryptTLSNone / X509None) and TigerVNC
      // (common/rfb/SConnection.cxx approveConnection: sent unless the type
      // in use is None itself, and TLSNone / X509None are 257 / 260).
      return m.go(Step::security_result);
    case sub_tls_vnc:
    case sub_x509_vnc:
      return m.go(Step::vnc_challenge);
    case sub_tls_plain:
    case sub_x509_plain:
      return m.go(Step::credentials);
    default:  // SASL and Ident inside TLS: not followed (layouts not verified)
      return begin_opaque(m);
  }
}

}  // namespace

Outcome step_vencrypt_server_version(Machine& m, ByteReader& in) {
  std::uint8_t major = 0, minor = 0;
  if (!in.u8(major) || !in.u8(minor)) return Outcome::need_more;
  // The server names its highest version; anything from 0.2 up lets the client answer 0.2.
  if (major != 0 || minor < 2)
    return m.fail("server offered VeNCrypt version " + version_text(major, minor) + "; only 0.2 is supported");
  return m.go(Step::vencrypt_client_version);
}

Outcome step_vencrypt_client_version(Machine& m, ByteReader& in) {
  std::uint8_t major = 0, minor = 0;
  if (!in.u8(major) || !in.u8(minor)) return Outcome::need_more;
  if (major != 0 || minor != 2)
    return m.fail("client chose VeNCrypt version " + version_text(major, minor) + "; only 0.2 is supported");
  return m.go(Step::vencrypt_ack);
}

Outcome step_vencrypt_ack(Machine& m, ByteReader& in) {
  std::uint8_t status = 0;
  if (!in.u8(status)) return Outcome::need_more;
  if (status != 0) return m.fail("server rejected VeNCrypt version 0.2 (status " + std::to_string(status) + ")");
  return m.go(Step::vencrypt_subtypes);
}

Outcome step_vencrypt_subtypes(Machine& m, ByteReader& in) {
  std::uint8_t count = 0;
  if (!in.u8(count)) return Outcome::need_more;
  if (count == 0) return m.fail("server offered no VeNCrypt subtypes");
  if (count > m.limits.max_vencrypt_subtypes)
    return m.fail("server offered " + std::to_string(count) + " VeNCrypt subtypes (limit " +
                  std::to_string(m.limits.max_vencrypt_subtypes) + ")");
  if (!in.has(std::size_t{count} * 4)) return Outcome::need_more;
  std::vector<std::uint32_t> subtypes(count);
  for (auto& subtype : subtypes) in.u32(subtype);
  m.vencrypt_offered = subtypes;
  m.emit(VeNCryptSubtypesOffered{std::move(subtypes)});
  return m.go(Step::vencrypt_choice);
}

Outcome step_vencrypt_choice(Machine& m, ByteReader& in) {
  std::uint32_t subtype = 0;
  if (!in.u32(subtype)) return Outcome::need_more;
  if (std::find(m.vencrypt_offered.begin(), m.vencrypt_offered.end(), subtype) == m.vencrypt_offered.end())
    return m.fail("client chose VeNCrypt subtype " + std::to_string(subtype) +
                  ", which the server did not offer (offered: " + list_text(m.vencrypt_offered) + ")");
  m.emit(VeNCryptSubtypeChosen{subtype});
  switch (subtype) {
    case sub_none:
      return begin_none(m);  // as the plain security types (TigerVNC offers these)
    case sub_vnc:
      return m.go(Step::vnc_challenge);
    case sub_plain:
      return m.go(Step::credentials);
    case sub_ident:
      return m.go(Step::ident);
    default:
      return starts_tls(subtype) ? m.go(Step::vencrypt_tls_ack) : begin_opaque(m);
  }
}

Outcome step_vencrypt_tls_ack(Machine& m, ByteReader& in) {
  std::uint8_t status = 0;
  if (!in.u8(status)) return Outcome::need_more;
  if (status != 1)
    return m.fail("server refused to start TLS for VeNCrypt subtype " +
                  vencrypt_subtype_name(m.summary.vencrypt_subtype) + " (status " + std::to_string(status) + ")");
  const std::uint32_t subtype = m.summary.vencrypt_subtype;
  m.emit(TlsStarts{subtype});
  // Everything after this, SecurityResult included, is inside TLS.
  if (m.tls_visibility == TlsVisibility::opaque) return begin_opaque(m);
  return begin_tls_inner(m, subtype);
}

}  // namespace vhm::rfb::detail
