#include "proxy/tls_legs.hpp"

#include "rfb/handshake_parser.hpp"
#include "rfb/vencrypt_messages.hpp"

namespace vhm::proxy {
namespace {

// What the configuration does not allow for this subtype, before any file is read.
std::string configuration_gap(const conf::ListenerTlsConfig& config, std::uint32_t subtype, bool server_leg_plain) {
  const std::string name = rfb::vencrypt_subtype_name(subtype);
  const bool certificate = rfb::vencrypt::uses_certificate(subtype);
  if (certificate && config.cert.empty())
    return "viewer leg: the viewer chose " + name + " but the listener has no tls.cert to present";
  if (server_leg_plain) return {};
  if (certificate && config.server_ca.empty() && !config.server_fingerprint)
    return "server leg: " + name + " needs tls.server_ca or tls.server_fingerprint to trust the server's certificate";
  if (!certificate && !config.server_anonymous)
    return "server leg: " + name +
           " is anonymous TLS (the server has no certificate to verify); set tls.server_anonymous: true to allow it";
  return {};
}

}  // namespace

TlsLegs make_tls_legs(const conf::ListenerTlsConfig& config, std::uint32_t subtype, bool server_leg_plain,
                      const std::string& target_name) {
  TlsLegs legs;
  legs.error = configuration_gap(config, subtype, server_leg_plain);
  if (!legs.error.empty()) return legs;

  const bool certificate = rfb::vencrypt::uses_certificate(subtype);
  std::string error;
  legs.viewer = certificate ? tls::certificate_server_context(config.cert, config.key, error)
                            : tls::anonymous_server_context(error);
  if (!legs.viewer) {
    legs.error = "viewer leg: " + error;
    return legs;
  }
  if (server_leg_plain) return legs;

  if (certificate) {
    legs.trust.ca_file = config.server_ca;
    if (config.server_fingerprint) legs.trust.fingerprint = *config.server_fingerprint;
    legs.trust.name = config.server_name.empty() ? target_name : config.server_name;
    legs.server = tls::verifying_client_context(legs.trust, error);
  } else {
    legs.server = tls::anonymous_client_context(error);
  }
  if (!legs.server) legs.error = "server leg: " + error;
  return legs;
}

}  // namespace vhm::proxy
