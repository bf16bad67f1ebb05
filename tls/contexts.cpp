#include "tls/contexts.hpp"

#include "tls/no_passphrase.hpp"

#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <boost/asio/ip/address.hpp>

#include "tls/openssl_errors.hpp"
#include "tls/pem_files.hpp"

namespace vhm::tls {
namespace {

// Anonymous suites only, never one without encryption (AECDH-NULL-SHA is aNULL too).
constexpr const char* anonymous_ciphers = "aNULL:!eNULL:@SECLEVEL=0";

// Options every context gets: no renegotiation (a CPU-exhaustion lever and
// nothing VNC needs), no compression, TLS 1.2 at least.
bool common_setup(ssl::context& context, std::string& error) {
  SSL_CTX* ctx = context.native_handle();
  SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION | SSL_OP_CIPHER_SERVER_PREFERENCE);
  SSL_CTX_set_default_passwd_cb(ctx, no_passphrase);
  if (SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1) {
    error = "cannot require TLS 1.2: " + take_openssl_error("unknown error");
    return false;
  }
  return true;
}

bool anonymous_setup(ssl::context& context, std::string& error) {
  SSL_CTX* ctx = context.native_handle();
  if (SSL_CTX_set_max_proto_version(ctx, TLS1_2_VERSION) != 1) {
    error = "cannot cap TLS at 1.2: " + take_openssl_error("unknown error");
    return false;
  }
  if (SSL_CTX_set_cipher_list(ctx, anonymous_ciphers) != 1) {
    error = "no anonymous cipher suites in this OpenSSL: " + take_openssl_error("unknown error");
    return false;
  }
  return true;
}

// Toward viewers: DH parameters picked by OpenSSL to match the suite (ADH and
// DHE need them), and no session tickets: a VNC session is one long
// connection, nothing resumes, and TigerVNC 1.12 stalls when a TLS 1.3 ticket
// arrives together with the first application data (GnuTLS keeps the data
// buffered while the viewer waits on the socket).
void server_setup(ssl::context& context) {
  SSL_CTX* ctx = context.native_handle();
  SSL_CTX_set_dh_auto(ctx, 1);
  SSL_CTX_set_num_tickets(ctx, 0);
  SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
}

}  // namespace

std::optional<ssl::context> anonymous_server_context(std::string& error) {
  clear_openssl_errors();
  ssl::context context(ssl::context::tls_server);
  if (!common_setup(context, error) || !anonymous_setup(context, error)) return std::nullopt;
  server_setup(context);
  return context;
}

std::optional<ssl::context> certificate_server_context(const std::filesystem::path& certificate,
                                                       const std::filesystem::path& key, std::string& error) {
  if (auto problem = certificate_and_key_problem(certificate, key)) {
    error = *problem;
    return std::nullopt;
  }
  clear_openssl_errors();
  ssl::context context(ssl::context::tls_server);
  if (!common_setup(context, error)) return std::nullopt;
  SSL_CTX* ctx = context.native_handle();
  if (SSL_CTX_use_certificate_chain_file(ctx, certificate.c_str()) != 1) {
    error = certificate.string() + ": " + take_openssl_error("cannot load the certificate chain");
    return std::nullopt;
  }
  if (SSL_CTX_use_PrivateKey_file(ctx, key.c_str(), SSL_FILETYPE_PEM) != 1 || SSL_CTX_check_private_key(ctx) != 1) {
    error = key.string() + ": " + take_openssl_error("cannot load the private key");
    return std::nullopt;
  }
  server_setup(context);
  return context;
}

std::optional<ssl::context> anonymous_client_context(std::string& error) {
  clear_openssl_errors();
  ssl::context context(ssl::context::tls_client);
  if (!common_setup(context, error) || !anonymous_setup(context, error)) return std::nullopt;
  context.set_verify_mode(ssl::verify_none);  // there is no certificate to verify
  return context;
}

std::optional<ssl::context> verifying_client_context(const ServerTrust& trust, std::string& error) {
  if (trust.ca_file.empty() && !trust.fingerprint) {
    error = "no way to trust the server: neither a CA file nor a pinned fingerprint";
    return std::nullopt;
  }
  clear_openssl_errors();
  ssl::context context(ssl::context::tls_client);
  if (!common_setup(context, error)) return std::nullopt;
  SSL_CTX* ctx = context.native_handle();
  if (trust.ca_file.empty()) {
    // Pinned only: any chain is acceptable here, the pin decides after the handshake.
    context.set_verify_mode(ssl::verify_peer);
    context.set_verify_callback([](bool, ssl::verify_context&) { return true; });
    return context;
  }
  if (auto problem = ca_file_problem(trust.ca_file)) {
    error = *problem;
    return std::nullopt;
  }
  if (SSL_CTX_load_verify_locations(ctx, trust.ca_file.c_str(), nullptr) != 1) {
    error = trust.ca_file.string() + ": " + take_openssl_error("cannot load the CA certificates");
    return std::nullopt;
  }
  context.set_verify_mode(ssl::verify_peer);
  if (!trust.name.empty()) {
    X509_VERIFY_PARAM* param = SSL_CTX_get0_param(ctx);
    boost::system::error_code not_ip;
    boost::asio::ip::make_address(trust.name, not_ip);
    const int ok = not_ip ? X509_VERIFY_PARAM_set1_host(param, trust.name.c_str(), trust.name.size())
                          : X509_VERIFY_PARAM_set1_ip_asc(param, trust.name.c_str());
    if (ok != 1) {
      error = "cannot check the server's certificate for \"" + trust.name + "\": " +
              take_openssl_error("invalid name");
      return std::nullopt;
    }
    X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
  }
  return context;
}

void set_server_name(SSL* ssl, const std::string& name) {
  boost::system::error_code not_ip;
  boost::asio::ip::make_address(name, not_ip);
  if (!not_ip || name.empty()) return;  // SNI carries DNS names only
  SSL_set_tlsext_host_name(ssl, name.c_str());
}

std::optional<std::string> pinned_certificate_problem(SSL* ssl, const ServerTrust& trust) {
  if (!trust.fingerprint) return std::nullopt;
  X509* certificate = SSL_get0_peer_certificate(ssl);
  if (certificate == nullptr) return "the server sent no certificate to compare with the pinned fingerprint";
  const auto actual = certificate_fingerprint(certificate);
  if (!actual) return "cannot compute the fingerprint of the server's certificate";
  if (*actual != *trust.fingerprint)
    return "the server's certificate " + format_fingerprint(*actual) + " is not the pinned one (" +
           format_fingerprint(*trust.fingerprint) + ")";
  return std::nullopt;
}

}  // namespace vhm::tls
