// Pinning a server certificate: the "sha256:..." text users paste from
// `openssl x509 -fingerprint -sha256`, and the digest of a real certificate.
#include <catch2/catch.hpp>

#include <openssl/evp.h>
#include <openssl/pem.h>

#include <cstdio>
#include <memory>

#include "test_pki.hpp"
#include "tls/fingerprint.hpp"

using namespace vhm::tls;

namespace {

const std::string hex64 = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";

std::unique_ptr<X509, decltype(&X509_free)> read_cert(const std::filesystem::path& path) {
  std::FILE* file = std::fopen(path.c_str(), "rb");
  REQUIRE(file != nullptr);
  X509* cert = PEM_read_X509(file, nullptr, nullptr, nullptr);
  std::fclose(file);
  REQUIRE(cert != nullptr);
  return {cert, &X509_free};
}

}  // namespace

TEST_CASE("fingerprint: sha256 with plain hex parses to those bytes and formats back the same") {
  std::string error;
  const auto digest = parse_fingerprint("sha256:" + hex64, error);
  REQUIRE(digest);
  CHECK(error.empty());
  CHECK((*digest)[0] == 0x00);
  CHECK((*digest)[1] == 0x11);
  CHECK((*digest)[15] == 0xff);
  CHECK(format_fingerprint(*digest) == "sha256:" + hex64);
}

TEST_CASE("fingerprint: openssl's colon-separated upper-case form is accepted") {
  std::string colons;
  for (std::size_t i = 0; i < hex64.size(); i += 2) {
    if (!colons.empty()) colons += ':';
    colons += hex64.substr(i, 2);
  }
  for (auto& c : colons) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  std::string error;
  const auto digest = parse_fingerprint("SHA256:" + colons, error);
  REQUIRE(digest);
  CHECK(format_fingerprint(*digest) == "sha256:" + hex64);
}

TEST_CASE("fingerprint: wrong prefix, length, characters or colon placement are rejected with a reason") {
  for (const std::string& bad :
       {hex64, "sha1:" + hex64, "sha256:" + hex64.substr(2), "sha256:" + hex64 + "00", "sha256:" + hex64.substr(1) + "g",
        "sha256:0:0" + hex64.substr(3), "sha256::" + hex64, "sha256:" + hex64 + ":", std::string("sha256:")}) {
    INFO(bad);
    std::string error;
    CHECK_FALSE(parse_fingerprint(bad, error));
    CHECK(error.find("expected sha256: followed by 64 hex digits") == 0);
  }
}

TEST_CASE("fingerprint: a certificate's fingerprint is the SHA-256 of its DER encoding") {
  test::TestPki pki;
  auto cert = read_cert(pki.server_cert);
  unsigned char* der = nullptr;
  const int length = i2d_X509(cert.get(), &der);
  REQUIRE(length > 0);
  Sha256 expected{};
  unsigned int size = 0;
  REQUIRE(EVP_Digest(der, static_cast<std::size_t>(length), expected.data(), &size, EVP_sha256(), nullptr) == 1);
  OPENSSL_free(der);

  const auto actual = certificate_fingerprint(cert.get());
  REQUIRE(actual);
  CHECK(*actual == expected);
  auto other = read_cert(pki.ca_cert);
  CHECK(certificate_fingerprint(other.get()) != actual);
  CHECK_FALSE(certificate_fingerprint(nullptr));
}
