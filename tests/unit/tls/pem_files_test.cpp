// The load-time checks of the PEM files a listener names.
#include <catch2/catch.hpp>

#include <sys/stat.h>

#include "test_pki.hpp"
#include "tls/pem_files.hpp"

using namespace vhm::tls;
using vhm::tls::test::TestPki;

namespace {
bool contains(const std::optional<std::string>& text, const std::string& part) {
  return text && text->find(part) != std::string::npos;
}
}  // namespace

TEST_CASE("pem files: a certificate with its own key passes") {
  TestPki pki;
  CHECK_FALSE(certificate_and_key_problem(pki.server_cert, pki.server_key));
}

TEST_CASE("pem files: a key that does not belong to the certificate is named as such") {
  TestPki pki;
  const auto problem = certificate_and_key_problem(pki.server_cert, pki.stray_key);
  CHECK(contains(problem, pki.stray_key.string() + ": the private key does not belong to the certificate in " +
                              pki.server_cert.string()));
}

TEST_CASE("pem files: missing, directory, non-PEM and encrypted files are each refused with the file name") {
  TestPki pki;
  const auto missing = pki.dir / "missing.pem";
  CHECK(contains(certificate_and_key_problem(missing, pki.server_key),
                 "cannot read " + missing.string() + ": No such file or directory"));
  CHECK(contains(certificate_and_key_problem(pki.server_cert, missing), "cannot read " + missing.string()));
  CHECK(contains(certificate_and_key_problem(pki.dir, pki.server_key), "it is a directory"));
  CHECK(contains(certificate_and_key_problem(pki.not_pem, pki.server_key), pki.not_pem.string() + ": no PEM certificate"));
  CHECK(contains(certificate_and_key_problem(pki.server_cert, pki.not_pem), pki.not_pem.string() + ": no usable PEM private key"));
  CHECK(contains(certificate_and_key_problem(pki.server_cert, pki.encrypted_key), "encrypted keys are not supported"));
}

TEST_CASE("pem files: a CA file needs at least one PEM certificate") {
  TestPki pki;
  CHECK_FALSE(ca_file_problem(pki.ca_cert));
  CHECK(contains(ca_file_problem(pki.not_pem), pki.not_pem.string() + ": no PEM certificate"));
  CHECK(contains(ca_file_problem(pki.server_key), "no PEM certificate"));
  CHECK(contains(ca_file_problem(pki.dir / "nope.pem"), "No such file or directory"));
}

TEST_CASE("pem files: a device or a FIFO is refused without reading it (it would never end)") {
  TestPki pki;
  CHECK(contains(certificate_and_key_problem("/dev/zero", pki.server_key), "/dev/zero: not a regular file"));
  CHECK(contains(certificate_and_key_problem(pki.server_cert, "/dev/null"), "not a regular file"));
  const auto fifo = pki.dir / "fifo.pem";
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  CHECK(contains(ca_file_problem(fifo), "fifo.pem: not a regular file"));
}
