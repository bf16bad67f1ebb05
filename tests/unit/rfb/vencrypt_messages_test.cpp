// The VeNCrypt messages the proxy writes itself (tls.server_security: plain)
// and the subtype families termination tells apart.
#include <catch2/catch.hpp>

#include "rfb/vencrypt_messages.hpp"

using namespace vhm::rfb::vencrypt;
using Bytes = std::vector<std::uint8_t>;

TEST_CASE("vencrypt messages: version, acks and the subtype list have the wire layout") {
  CHECK(server_version() == Bytes{0, 2});
  CHECK(version_ack(true) == Bytes{0});
  CHECK(version_ack(false) == Bytes{1});
  CHECK(tls_ack() == Bytes{1});
  const std::vector<std::uint32_t> subtypes{x509_vnc, tls_vnc};
  CHECK(subtype_list(subtypes) == Bytes{2, 0, 0, 1, 5, 0, 0, 1, 2});
  CHECK(security_type_list(Bytes{19, 2}) == Bytes{2, 19, 2});
}

TEST_CASE("vencrypt messages: VeNCrypt goes in front of a server that offers VncAuth, nothing else changes") {
  CHECK(offer_in_front_of_vnc_auth(Bytes{2}) == Bytes{19, 2});
  CHECK(offer_in_front_of_vnc_auth(Bytes{19, 2}) == Bytes{19, 2});   // TigerVNC's default offer: unchanged
  CHECK(offer_in_front_of_vnc_auth(Bytes{1, 2, 19}) == Bytes{19, 1, 2});
  CHECK_FALSE(offer_in_front_of_vnc_auth(Bytes{19, 1}));  // no VncAuth: nothing to put behind VeNCrypt
  CHECK_FALSE(offer_in_front_of_vnc_auth(Bytes{}));
}

TEST_CASE("vencrypt messages: which subtypes start TLS and which of those use a certificate") {
  for (const std::uint32_t subtype : {tls_none, tls_vnc, tls_plain, tls_sasl, tls_ident}) {
    INFO(subtype);
    CHECK(starts_tls(subtype));
    CHECK_FALSE(uses_certificate(subtype));
  }
  for (const std::uint32_t subtype : {x509_none, x509_vnc, x509_plain, x509_sasl, x509_ident}) {
    INFO(subtype);
    CHECK(starts_tls(subtype));
    CHECK(uses_certificate(subtype));
  }
  for (const std::uint32_t subtype : {1u, 2u, 256u, 265u, 268u, 999u}) {
    INFO(subtype);
    CHECK_FALSE(starts_tls(subtype));
    CHECK_FALSE(uses_certificate(subtype));
  }
}
