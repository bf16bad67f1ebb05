#pragma once
// The OpenSSL contexts of VeNCrypt termination, one per leg and kind of
// subtype. Anonymous TLS (TLSNone/TLSVnc/TLSPlain) is what TigerVNC speaks:
// anonymous DH/ECDH suites, which OpenSSL 3 only allows at security level 0
// and which TLS 1.3 does not have, so those contexts are capped at TLS 1.2.
// The X509* subtypes use ordinary certificate TLS, 1.2 or later.
//
// Contexts are built per session from the files named in the configuration:
// a renewed certificate is used from the next session on, with no reload.
#include <boost/asio/ssl/context.hpp>

#include <filesystem>
#include <optional>
#include <string>

#include "tls/fingerprint.hpp"

typedef struct ssl_st SSL;

namespace vhm::tls {

namespace ssl = boost::asio::ssl;

// --- toward viewers (the proxy is the TLS server) ---
std::optional<ssl::context> anonymous_server_context(std::string& error);
// `certificate`: PEM chain, leaf first (what Xvnc -X509Cert takes); `key`: PEM, unencrypted.
std::optional<ssl::context> certificate_server_context(const std::filesystem::path& certificate,
                                                       const std::filesystem::path& key, std::string& error);

// --- toward servers (the proxy is the TLS client) ---
std::optional<ssl::context> anonymous_client_context(std::string& error);

// How the server's certificate is trusted: by a CA (chain and name checked),
// by a pinned fingerprint (anything else about the certificate is ignored,
// so self-signed certificates work), or both (both must hold).
struct ServerTrust {
  std::filesystem::path ca_file;     // empty: no chain check
  std::optional<Sha256> fingerprint;  // nullopt: not pinned
  std::string name;                   // with ca_file: DNS name or IP literal the certificate must name
};
// Needs ca_file or fingerprint. The pin itself is checked after the handshake
// with pinned_certificate_problem(), before any byte is relayed.
std::optional<ssl::context> verifying_client_context(const ServerTrust& trust, std::string& error);

// Per connection, before the handshake: the server name (SNI) when `name` is a
// DNS name. Harmless for anonymous TLS.
void set_server_name(SSL* ssl, const std::string& name);

// After a completed client handshake: why the server's certificate does not
// match trust.fingerprint ("certificate sha256:... is not the pinned one"), or
// nullopt when it matches or nothing is pinned.
std::optional<std::string> pinned_certificate_problem(SSL* ssl, const ServerTrust& trust);

}  // namespace vhm::tls
