#pragma once
// Test certificates made in-process with OpenSSL (no files checked in, no
// `openssl` command): a CA, a server certificate it signed for 127.0.0.1 and
// localhost, an unrelated CA, a key that belongs to nothing, and an encrypted
// key, all written as PEM into a scratch directory removed afterwards.
#include <filesystem>
#include <string>

namespace vhm::tls::test {

class TestPki {
 public:
  TestPki();
  ~TestPki();
  TestPki(const TestPki&) = delete;
  TestPki& operator=(const TestPki&) = delete;

  std::filesystem::path dir;
  std::filesystem::path ca_cert;
  std::filesystem::path server_cert;  // signed by ca_cert; SAN IP:127.0.0.1, DNS:localhost
  std::filesystem::path server_key;
  std::filesystem::path other_ca_cert;  // self-signed, signed nothing here
  std::filesystem::path stray_key;      // belongs to no certificate
  std::filesystem::path encrypted_key;  // server_key's twin, passphrase-protected
  std::filesystem::path not_pem;        // text that is no PEM at all

  std::filesystem::path write(const std::string& name, const std::string& content) const;
};

}  // namespace vhm::tls::test
