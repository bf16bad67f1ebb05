#include "test_pki.hpp"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdlib.h>

#include <cstdio>
#include <fstream>
#include <memory>
#include <stdexcept>

namespace vhm::tls::test {
namespace {

struct KeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
struct CertFree {
  void operator()(X509* c) const { X509_free(c); }
};
using Key = std::unique_ptr<EVP_PKEY, KeyFree>;
using Cert = std::unique_ptr<X509, CertFree>;

void require(bool ok, const char* what) {
  if (!ok) throw std::runtime_error(std::string("test PKI: ") + what);
}

Key new_key() {
  Key key(EVP_EC_gen("P-256"));
  require(key != nullptr, "EC key generation");
  return key;
}

void add_extension(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
  require(ext != nullptr, "extension");
  X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
}

// issuer == nullptr: self-signed with `key`.
Cert new_cert(EVP_PKEY* key, const char* common_name, X509* issuer, EVP_PKEY* issuer_key, bool ca, long serial) {
  Cert cert(X509_new());
  X509_set_version(cert.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), serial);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), 3600L * 24 * 30);
  X509_set_pubkey(cert.get(), key);
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(common_name), -1, -1,
                             0);
  X509* signer = issuer ? issuer : cert.get();
  X509_set_issuer_name(cert.get(), X509_get_subject_name(signer));
  if (ca) {
    add_extension(cert.get(), signer, NID_basic_constraints, "critical,CA:TRUE");
    add_extension(cert.get(), signer, NID_key_usage, "critical,keyCertSign,cRLSign");
  } else {
    add_extension(cert.get(), signer, NID_basic_constraints, "CA:FALSE");
    add_extension(cert.get(), signer, NID_subject_alt_name, "IP:127.0.0.1,DNS:localhost");
  }
  require(X509_sign(cert.get(), issuer_key ? issuer_key : key, EVP_sha256()) > 0, "signing");
  return cert;
}

void write_cert(const std::filesystem::path& path, X509* cert) {
  std::FILE* file = std::fopen(path.c_str(), "wb");
  require(file != nullptr, "open cert file");
  PEM_write_X509(file, cert);
  std::fclose(file);
}

void write_key(const std::filesystem::path& path, EVP_PKEY* key, const char* passphrase = nullptr) {
  std::FILE* file = std::fopen(path.c_str(), "wb");
  require(file != nullptr, "open key file");
  if (passphrase)
    PEM_write_PrivateKey(file, key, EVP_aes_128_cbc(), reinterpret_cast<const unsigned char*>(passphrase),
                         static_cast<int>(std::char_traits<char>::length(passphrase)), nullptr, nullptr);
  else
    PEM_write_PrivateKey(file, key, nullptr, nullptr, 0, nullptr, nullptr);
  std::fclose(file);
}

}  // namespace

TestPki::TestPki() {
  std::string pattern = (std::filesystem::temp_directory_path() / "vhm-tls-test-XXXXXX").string();
  require(::mkdtemp(pattern.data()) != nullptr, "mkdtemp");
  dir = pattern;
  ca_cert = dir / "ca.pem";
  server_cert = dir / "server.pem";
  server_key = dir / "server-key.pem";
  other_ca_cert = dir / "other-ca.pem";
  stray_key = dir / "stray-key.pem";
  encrypted_key = dir / "encrypted-key.pem";

  Key ca_key = new_key();
  Cert ca = new_cert(ca_key.get(), "vhm test CA", nullptr, nullptr, true, 1);
  Key key = new_key();
  Cert server = new_cert(key.get(), "vhm test server", ca.get(), ca_key.get(), false, 2);
  Key other_key = new_key();
  Cert other = new_cert(other_key.get(), "vhm other CA", nullptr, nullptr, true, 3);
  Key stray = new_key();

  write_cert(ca_cert, ca.get());
  write_cert(server_cert, server.get());
  write_key(server_key, key.get());
  write_cert(other_ca_cert, other.get());
  write_key(stray_key, stray.get());
  write_key(encrypted_key, key.get(), "a passphrase");
  not_pem = write("not-pem.txt", "this is not a certificate\n");
}

TestPki::~TestPki() {
  std::error_code ignored;
  std::filesystem::remove_all(dir, ignored);
}

std::filesystem::path TestPki::write(const std::string& name, const std::string& content) const {
  const auto path = dir / name;
  std::ofstream(path, std::ios::binary | std::ios::trunc) << content;
  return path;
}

}  // namespace vhm::tls::test
