// Which TLS each leg of a terminated session gets, and the tls_error detail
// when the listener's tls: settings do not allow the subtype the viewer chose.
#include <catch2/catch.hpp>

#include <openssl/ssl.h>

#include "proxy/tls_legs.hpp"
#include "rfb/vencrypt_messages.hpp"

using namespace vhm;
using vhm::rfb::vencrypt::tls_vnc;
using vhm::rfb::vencrypt::x509_vnc;

TEST_CASE("tls legs: anonymous subtypes need server_anonymous toward the server") {
  conf::ListenerTlsConfig config;
  auto legs = proxy::make_tls_legs(config, tls_vnc, false, "127.0.0.1");
  CHECK(legs.error ==
        "server leg: TLSVnc is anonymous TLS (the server has no certificate to verify); set "
        "tls.server_anonymous: true to allow it");
  config.server_anonymous = true;
  legs = proxy::make_tls_legs(config, tls_vnc, false, "127.0.0.1");
  CHECK(legs.error.empty());
  REQUIRE(legs.viewer);
  REQUIRE(legs.server);
  CHECK(SSL_CTX_get_max_proto_version(legs.viewer->native_handle()) == TLS1_2_VERSION);
  CHECK(SSL_CTX_get_max_proto_version(legs.server->native_handle()) == TLS1_2_VERSION);
}

TEST_CASE("tls legs: a plain server leg needs no server context at all") {
  conf::ListenerTlsConfig config;
  config.server_security = conf::ServerSecurity::plain;
  const auto legs = proxy::make_tls_legs(config, tls_vnc, true, "127.0.0.1");
  CHECK(legs.error.empty());
  CHECK(legs.viewer);
  CHECK_FALSE(legs.server);
}

TEST_CASE("tls legs: an X509 subtype needs tls.cert toward the viewer and a trust toward the server") {
  conf::ListenerTlsConfig config;
  config.server_anonymous = true;
  auto legs = proxy::make_tls_legs(config, x509_vnc, false, "127.0.0.1");
  CHECK(legs.error == "viewer leg: the viewer chose X509Vnc but the listener has no tls.cert to present");
  CHECK_FALSE(legs.viewer);
  // With a certificate toward the viewer, the server leg still needs a CA or a pin.
  config.cert = "/nonexistent/vhm-cert.pem";
  config.key = "/nonexistent/vhm-key.pem";
  legs = proxy::make_tls_legs(config, x509_vnc, false, "127.0.0.1");
  CHECK(legs.error == "server leg: X509Vnc needs tls.server_ca or tls.server_fingerprint to trust the server's "
                      "certificate");
  // Given one, a certificate file that cannot be loaded is named with the leg.
  config.server_fingerprint = std::array<std::uint8_t, 32>{};
  legs = proxy::make_tls_legs(config, x509_vnc, false, "127.0.0.1");
  CHECK(legs.error.rfind("viewer leg: cannot read /nonexistent/vhm-cert.pem", 0) == 0);
}
