#include "proxy/frontend/front_tls.hpp"

#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "tls/contexts.hpp"
#include "tls/openssl_errors.hpp"
#include "util/printable.hpp"

namespace vhm::proxy::frontend {

namespace {

bool add_chain_file(SSL_CTX* ctx, const std::filesystem::path& chain, std::string& error) {
  BIO* bio = BIO_new_file(chain.c_str(), "r");
  if (bio == nullptr) {
    error = chain.string() + ": " + tls::take_openssl_error("cannot read the chain file");
    return false;
  }
  int added = 0;
  while (X509* certificate = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr)) {
    if (SSL_CTX_add0_chain_cert(ctx, certificate) != 1) {
      X509_free(certificate);
      BIO_free(bio);
      error = chain.string() + ": " + tls::take_openssl_error("cannot add a chain certificate");
      return false;
    }
    ++added;
  }
  BIO_free(bio);
  tls::clear_openssl_errors();  // the loop ends on "no start line"
  if (added == 0) {
    error = chain.string() + ": no PEM certificate in the chain file";
    return false;
  }
  return true;
}

}  // namespace

std::optional<boost::asio::ssl::context> front_tls_context(const conf::FrontendTlsConfig& config, std::string& error) {
  auto context = tls::certificate_server_context(config.cert, config.key, error);
  if (!context) return std::nullopt;
  SSL_CTX* ctx = context->native_handle();
  if (!config.chain.empty() && !add_chain_file(ctx, config.chain, error)) return std::nullopt;
  if (SSL_CTX_set_min_proto_version(ctx, config.min_version) != 1) {
    error = "min_version: " + tls::take_openssl_error("not supported by this OpenSSL");
    return std::nullopt;
  }
  if (!config.ciphers.empty() && SSL_CTX_set_cipher_list(ctx, config.ciphers.c_str()) != 1) {
    error = "ciphers: " + tls::take_openssl_error("no usable cipher in the list");
    return std::nullopt;
  }
  if (!config.ciphersuites.empty() && SSL_CTX_set_ciphersuites(ctx, config.ciphersuites.c_str()) != 1) {
    error = "ciphersuites: " + tls::take_openssl_error("no usable suite in the list");
    return std::nullopt;
  }
  if (config.client_cert != conf::ClientCertMode::none) {
    if (SSL_CTX_load_verify_locations(ctx, config.client_ca.c_str(), nullptr) != 1) {
      error = config.client_ca.string() + ": " + tls::take_openssl_error("cannot load the client CA certificates");
      return std::nullopt;
    }
    if (STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(config.client_ca.c_str())) {
      SSL_CTX_set_client_CA_list(ctx, names);
    }
    tls::clear_openssl_errors();
    int mode = SSL_VERIFY_PEER;
    if (config.client_cert == conf::ClientCertMode::required) mode |= SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
    SSL_CTX_set_verify(ctx, mode, nullptr);
  }
  // Browsers open several connections for noVNC's files: resuming saves a
  // full handshake each (stateless tickets cost the proxy no memory).
  SSL_CTX_clear_options(ctx, SSL_OP_NO_TICKET);
  SSL_CTX_set_num_tickets(ctx, 1);
  static const unsigned char session_context[] = "vhm-frontend";
  SSL_CTX_set_session_id_context(ctx, session_context, sizeof session_context - 1);
  // An idle TLS session gives OpenSSL's record buffers back.
  SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
  return context;
}

// The client certificate's CN, else its first DNS name; empty without one.
std::string certificate_user(SSL* ssl) {
  X509* certificate = SSL_get0_peer_certificate(ssl);
  if (certificate == nullptr || SSL_get_verify_result(ssl) != X509_V_OK) return {};
  std::string user;
  X509_NAME* subject = X509_get_subject_name(certificate);
  const int index = X509_NAME_get_index_by_NID(subject, NID_commonName, -1);
  if (index >= 0) {
    unsigned char* utf8 = nullptr;
    const int length = ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, index)));
    if (length > 0) user.assign(reinterpret_cast<const char*>(utf8), static_cast<std::size_t>(length));
    OPENSSL_free(utf8);
  }
  if (user.empty()) {
    auto* names =
        static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(certificate, NID_subject_alt_name, nullptr, nullptr));
    for (int i = 0; names != nullptr && i < sk_GENERAL_NAME_num(names); ++i) {
      const GENERAL_NAME* name = sk_GENERAL_NAME_value(names, i);
      if (name->type != GEN_DNS) continue;
      const ASN1_STRING* dns = name->d.dNSName;
      user.assign(reinterpret_cast<const char*>(ASN1_STRING_get0_data(dns)),
                  static_cast<std::size_t>(ASN1_STRING_length(dns)));
      break;
    }
    GENERAL_NAMES_free(names);
  }
  return util::printable(user, 256);
}

}  // namespace vhm::proxy::frontend
