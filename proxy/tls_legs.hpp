#pragma once
// Which TLS each leg of a terminated VeNCrypt session gets. Both legs run the
// subtype the viewer chose (the choice was relayed to the server unchanged):
// anonymous TLS for TLSNone/TLSVnc/TLSPlain, certificate TLS for the X509
// ones. Toward the viewer the proxy is the server (its tls.cert for X509*);
// toward the server it is the client and trusts it only as configured. A
// combination the configuration does not allow is an error naming the leg
// and the key to set, which becomes the session's `tls_error` detail.
#include <cstdint>
#include <optional>
#include <string>

#include <boost/asio/ssl/context.hpp>

#include "conf/config.hpp"
#include "tls/contexts.hpp"

namespace vhm::proxy {

struct TlsLegs {
  std::optional<tls::ssl::context> viewer;  // the proxy as TLS server
  std::optional<tls::ssl::context> server;  // the proxy as TLS client; nullopt when the server leg is plain
  tls::ServerTrust trust;                   // X509* toward the server: how its certificate is trusted
  std::string error;                        // non-empty: "viewer leg: ..." or "server leg: ..."
};

// `target_name`: the name the server's certificate must carry when
// tls.server_ca is set and tls.server_name is not (the target's host or IP).
TlsLegs make_tls_legs(const conf::ListenerTlsConfig& config, std::uint32_t subtype, bool server_leg_plain,
                      const std::string& target_name);

}  // namespace vhm::proxy
