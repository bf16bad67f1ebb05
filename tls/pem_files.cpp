#include "tls/pem_files.hpp"

#include "tls/no_passphrase.hpp"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>

#include "tls/openssl_errors.hpp"

namespace vhm::tls {
namespace {

struct FileCloser {
  void operator()(std::FILE* file) const { std::fclose(file); }
};
using File = std::unique_ptr<std::FILE, FileCloser>;
struct X509Free {
  void operator()(X509* x) const { X509_free(x); }
};
struct KeyFree {
  void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
};

File open_file(const std::filesystem::path& path, std::string& error) {
  std::error_code ec;
  const auto status = std::filesystem::status(path, ec);
  if (std::filesystem::is_directory(status)) {
    error = "cannot read " + path.string() + ": it is a directory";
    return nullptr;
  }
  // A device or a FIFO (/dev/zero, /dev/stdin) would hang the config check
  // or the reload reading it (found by fuzzing the config loader); stat does
  // not block, so ask before opening.
  if (std::filesystem::exists(status) && !std::filesystem::is_regular_file(status)) {
    error = "cannot read " + path.string() + ": not a regular file";
    return nullptr;
  }
  File file(std::fopen(path.c_str(), "rb"));
  if (!file) error = "cannot read " + path.string() + ": " + std::strerror(errno);
  return file;
}

}  // namespace

std::optional<std::string> certificate_and_key_problem(const std::filesystem::path& certificate,
                                                       const std::filesystem::path& key) {
  std::string error;
  clear_openssl_errors();
  File cert_file = open_file(certificate, error);
  if (!cert_file) return error;
  std::unique_ptr<X509, X509Free> cert(PEM_read_X509(cert_file.get(), nullptr, no_passphrase, nullptr));
  if (!cert) return certificate.string() + ": no PEM certificate (" + take_openssl_error("unreadable") + ")";

  File key_file = open_file(key, error);
  if (!key_file) return error;
  std::unique_ptr<EVP_PKEY, KeyFree> pkey(PEM_read_PrivateKey(key_file.get(), nullptr, no_passphrase, nullptr));
  if (!pkey)
    return key.string() + ": no usable PEM private key (" + take_openssl_error("unreadable") +
           "; encrypted keys are not supported)";
  if (X509_check_private_key(cert.get(), pkey.get()) != 1) {
    clear_openssl_errors();
    return key.string() + ": the private key does not belong to the certificate in " + certificate.string();
  }
  return std::nullopt;
}

std::optional<std::string> ca_file_problem(const std::filesystem::path& ca_file) {
  std::string error;
  clear_openssl_errors();
  File file = open_file(ca_file, error);
  if (!file) return error;
  std::unique_ptr<X509, X509Free> cert(PEM_read_X509(file.get(), nullptr, no_passphrase, nullptr));
  if (!cert) return ca_file.string() + ": no PEM certificate (" + take_openssl_error("unreadable") + ")";
  return std::nullopt;
}

}  // namespace vhm::tls
