#pragma once
// VeNCrypt (19) as the proxy speaks it itself: with `server_security: plain`
// the proxy plays the VeNCrypt server toward the viewer while the server leg
// uses the server's own VncAuth. Sans-IO: bytes out, no sockets. Also the
// subtype families the termination code must tell apart.
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

namespace vhm::rfb::vencrypt {

inline constexpr std::uint8_t security_type = 19;
inline constexpr std::uint8_t vnc_auth_type = 2;
inline constexpr std::uint32_t tls_none = 257, tls_vnc = 258, tls_plain = 259, x509_none = 260, x509_vnc = 261,
                               x509_plain = 262, tls_sasl = 263, x509_sasl = 264, tls_ident = 266, x509_ident = 267;

// Subtypes whose ack 1 starts TLS, and which of them use a certificate.
bool starts_tls(std::uint32_t subtype);
bool uses_certificate(std::uint32_t subtype);  // X509*: certificate TLS; the other TLS ones are anonymous

// S->C: the version the server speaks, 0.2.
std::vector<std::uint8_t> server_version();
// S->C: the answer to the client's version; accepted = 0, anything else refuses.
std::vector<std::uint8_t> version_ack(bool accepted);
// S->C: u8 count + count x u32 subtypes (at most 255).
std::vector<std::uint8_t> subtype_list(std::span<const std::uint32_t> subtypes);
// S->C: ack 1, TLS starts now.
std::vector<std::uint8_t> tls_ack();

// RFB 3.7+ S->C security type list (u8 count + types), at most 255 types.
std::vector<std::uint8_t> security_type_list(std::span<const std::uint8_t> types);
// The list shown to the viewer when the proxy offers VeNCrypt in front of a
// server that offers VncAuth: VeNCrypt first, then the server's own types
// (without a VeNCrypt of its own), so a viewer without VeNCrypt still gets
// exactly what the server offers. nullopt when the server offers no VncAuth
// (or no types): nothing to put behind VeNCrypt.
std::optional<std::vector<std::uint8_t>> offer_in_front_of_vnc_auth(std::span<const std::uint8_t> server_types);

}  // namespace vhm::rfb::vencrypt
