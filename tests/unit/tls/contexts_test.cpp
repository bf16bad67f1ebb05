// The termination contexts, exercised by real handshakes in-process: the two
// ends of a socket pair, one per context, then a few bytes each way.
#include <catch2/catch.hpp>

#include <openssl/ssl.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/local/connect_pair.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/write.hpp>

#include "test_pki.hpp"
#include "tls/contexts.hpp"
#include "tls/error_text.hpp"

using namespace vhm::tls;
namespace asio = boost::asio;
using Socket = asio::local::stream_protocol::socket;

namespace {

struct Outcome {
  boost::system::error_code server_error, client_error;
  std::string server_text, client_text;  // describe_error() of each side
  std::string cipher;
  int version = 0;
  std::string server_got, client_got;  // after both handshakes: "ping" and "pong"
  std::optional<std::string> pin_problem;
  bool ok() const { return !server_error && !client_error; }
};

// Both handshakes on one io_context; a side that fails closes its socket so
// the other never waits. After success: "ping" to the server, "pong" back.
Outcome handshake(ssl::context& server_context, ssl::context& client_context, const ServerTrust* trust = nullptr,
                  std::string_view client_garbage = {}) {
  asio::io_context io;
  Socket a(io), b(io);
  asio::local::connect_pair(a, b);
  ssl::stream<Socket&> server(a, server_context);
  ssl::stream<Socket&> client(b, client_context);
  if (trust) set_server_name(client.native_handle(), trust->name);
  Outcome out;
  int done = 0;
  auto exchange = [&] {
    if (++done < 2 || !out.ok()) return;
    out.cipher = SSL_get_cipher_name(client.native_handle());
    out.version = SSL_version(client.native_handle());
    if (trust) out.pin_problem = pinned_certificate_problem(client.native_handle(), *trust);
    asio::write(client, asio::buffer("ping", 4));
    char buf[4];
    asio::read(server, asio::buffer(buf));
    out.server_got.assign(buf, 4);
    asio::write(server, asio::buffer("pong", 4));
    asio::read(client, asio::buffer(buf));
    out.client_got.assign(buf, 4);
  };
  server.async_handshake(ssl::stream_base::server, [&](const boost::system::error_code& ec) {
    out.server_error = ec;
    if (ec) {
      out.server_text = describe_error(ec, server.native_handle());
      a.close();
    }
    exchange();
  });
  if (client_garbage.empty()) {
    client.async_handshake(ssl::stream_base::client, [&](const boost::system::error_code& ec) {
      out.client_error = ec;
      if (ec) {
        out.client_text = describe_error(ec, client.native_handle());
        b.close();
      }
      exchange();
    });
  } else {
    asio::write(b, asio::buffer(client_garbage.data(), client_garbage.size()));
    ++done;
  }
  io.run();
  return out;
}

ssl::context anon_server() {
  std::string error;
  auto context = anonymous_server_context(error);
  REQUIRE(context);
  return std::move(*context);
}

ssl::context anon_client() {
  std::string error;
  auto context = anonymous_client_context(error);
  REQUIRE(context);
  return std::move(*context);
}

ssl::context cert_server(const test::TestPki& pki) {
  std::string error;
  auto context = certificate_server_context(pki.server_cert, pki.server_key, error);
  INFO(error);
  REQUIRE(context);
  return std::move(*context);
}

ssl::context verifying_client(const ServerTrust& trust) {
  std::string error;
  auto context = verifying_client_context(trust, error);
  INFO(error);
  REQUIRE(context);
  return std::move(*context);
}

}  // namespace

TEST_CASE("contexts: anonymous server and client agree on an anonymous TLS 1.2 suite and carry bytes") {
  auto server = anon_server();
  auto client = anon_client();
  const auto out = handshake(server, client);
  INFO(out.server_text << " / " << out.client_text);
  REQUIRE(out.ok());
  CHECK(out.version == TLS1_2_VERSION);
  CHECK((out.cipher.rfind("ADH-", 0) == 0 || out.cipher.rfind("AECDH-", 0) == 0));
  CHECK(out.server_got == "ping");
  CHECK(out.client_got == "pong");
}

TEST_CASE("contexts: anonymous contexts are capped at TLS 1.2 and never offer a cipher without encryption") {
  auto server = anon_server();
  auto client = anon_client();
  for (ssl::context* context : {&server, &client}) {
    CHECK(SSL_CTX_get_max_proto_version(context->native_handle()) == TLS1_2_VERSION);
    SSL* ssl = SSL_new(context->native_handle());
    STACK_OF(SSL_CIPHER)* ciphers = SSL_get1_supported_ciphers(ssl);
    REQUIRE(ciphers != nullptr);
    CHECK(sk_SSL_CIPHER_num(ciphers) > 0);
    for (int i = 0; i < sk_SSL_CIPHER_num(ciphers); ++i) {
      const SSL_CIPHER* cipher = sk_SSL_CIPHER_value(ciphers, i);
      INFO(SSL_CIPHER_get_name(cipher));
      CHECK(SSL_CIPHER_get_auth_nid(cipher) == NID_auth_null);
      CHECK(SSL_CIPHER_get_cipher_nid(cipher) != NID_undef);
    }
    sk_SSL_CIPHER_free(ciphers);
    SSL_free(ssl);
  }
}

TEST_CASE("contexts: a certificate server is trusted through its CA and the IP it names") {
  test::TestPki pki;
  auto server = cert_server(pki);
  ServerTrust trust{pki.ca_cert, std::nullopt, "127.0.0.1"};
  auto client = verifying_client(trust);
  const auto out = handshake(server, client, &trust);
  INFO(out.server_text << " / " << out.client_text);
  REQUIRE(out.ok());
  CHECK(out.version >= TLS1_2_VERSION);
  CHECK(out.server_got == "ping");
  CHECK(out.client_got == "pong");
  CHECK_FALSE(out.pin_problem);
}

TEST_CASE("contexts: a certificate from another CA fails verification on the client with the reason") {
  test::TestPki pki;
  auto server = cert_server(pki);
  ServerTrust trust{pki.other_ca_cert, std::nullopt, "127.0.0.1"};
  auto client = verifying_client(trust);
  const auto out = handshake(server, client, &trust);
  CHECK(out.client_error);
  CHECK(out.client_text == "certificate verify failed: unable to get local issuer certificate");
}

TEST_CASE("contexts: a certificate that does not name the expected host or IP fails verification") {
  test::TestPki pki;
  auto server = cert_server(pki);
  SECTION("IP literal") {
    ServerTrust trust{pki.ca_cert, std::nullopt, "192.0.2.7"};
    auto client = verifying_client(trust);
    const auto out = handshake(server, client, &trust);
    CHECK(out.client_error);
    CHECK(out.client_text == "certificate verify failed: IP address mismatch");
  }
  SECTION("DNS name") {
    ServerTrust trust{pki.ca_cert, std::nullopt, "vnc.example.org"};
    auto client = verifying_client(trust);
    const auto out = handshake(server, client, &trust);
    CHECK(out.client_error);
    CHECK(out.client_text == "certificate verify failed: hostname mismatch");
  }
  SECTION("DNS name it does carry") {
    ServerTrust trust{pki.ca_cert, std::nullopt, "localhost"};
    auto client = verifying_client(trust);
    const auto out = handshake(server, client, &trust);
    CHECK(out.ok());
  }
}

TEST_CASE("contexts: a pinned fingerprint accepts exactly that certificate, whoever signed it") {
  test::TestPki pki;
  auto server = cert_server(pki);
  std::FILE* file = std::fopen(pki.server_cert.c_str(), "rb");
  REQUIRE(file != nullptr);
  X509* cert = PEM_read_X509(file, nullptr, nullptr, nullptr);
  std::fclose(file);
  REQUIRE(cert != nullptr);
  const auto digest = certificate_fingerprint(cert);
  X509_free(cert);
  REQUIRE(digest);

  SECTION("the right pin") {
    ServerTrust trust{{}, digest, "unrelated.example"};
    auto client = verifying_client(trust);
    const auto out = handshake(server, client, &trust);
    REQUIRE(out.ok());
    CHECK_FALSE(out.pin_problem);
  }
  SECTION("a wrong pin") {
    Sha256 wrong = *digest;
    wrong[0] ^= 0xff;
    ServerTrust trust{{}, wrong, "127.0.0.1"};
    auto client = verifying_client(trust);
    const auto out = handshake(server, client, &trust);
    REQUIRE(out.ok());  // the pin is decided after the handshake, before any byte is relayed
    REQUIRE(out.pin_problem);
    CHECK(*out.pin_problem == "the server's certificate " + format_fingerprint(*digest) +
                                  " is not the pinned one (" + format_fingerprint(wrong) + ")");
  }
}

TEST_CASE("contexts: an anonymous client and a certificate server share no cipher and both fail") {
  test::TestPki pki;
  auto server = cert_server(pki);
  auto client = anon_client();
  const auto out = handshake(server, client);
  CHECK(out.server_error);
  CHECK(out.client_error);
  CHECK(out.server_text == "no shared cipher");
}

TEST_CASE("contexts: bytes that are no ClientHello fail the server handshake with OpenSSL's reason") {
  auto server = anon_server();
  auto client = anon_client();
  const auto out = handshake(server, client, nullptr, "this is not TLS at all, just text\r\n");
  CHECK(out.server_error);
  CHECK(out.server_text == "wrong version number");
}

TEST_CASE("contexts: a peer that hangs up during the handshake is described as closing, not as a TLS fault") {
  asio::io_context io;
  Socket a(io), b(io);
  asio::local::connect_pair(a, b);
  auto context = anon_server();
  ssl::stream<Socket&> server(a, context);
  boost::system::error_code error;
  server.async_handshake(ssl::stream_base::server, [&](const boost::system::error_code& ec) { error = ec; });
  b.close();
  io.run();
  CHECK(error);
  CHECK(is_peer_close(error));
  CHECK(describe_error(error) == "the peer closed the connection");
}

TEST_CASE("contexts: building contexts from unusable files or no trust at all fails with a reason") {
  test::TestPki pki;
  std::string error;
  CHECK_FALSE(certificate_server_context(pki.server_cert, pki.stray_key, error));
  CHECK(error.find("does not belong to the certificate") != std::string::npos);
  error.clear();
  CHECK_FALSE(verifying_client_context(ServerTrust{}, error));
  CHECK(error == "no way to trust the server: neither a CA file nor a pinned fingerprint");
  error.clear();
  CHECK_FALSE(verifying_client_context(ServerTrust{pki.not_pem, std::nullopt, "127.0.0.1"}, error));
  CHECK(error.find("no PEM certificate") != std::string::npos);
}

TEST_CASE("contexts: contexts toward viewers issue no session tickets (TigerVNC 1.12 stalls on TLS 1.3 tickets)") {
  test::TestPki pki;
  auto anonymous = anon_server();
  auto certificate = cert_server(pki);
  for (ssl::context* context : {&anonymous, &certificate}) {
    CHECK(SSL_CTX_get_num_tickets(context->native_handle()) == 0);
    CHECK((SSL_CTX_get_options(context->native_handle()) & SSL_OP_NO_TICKET) != 0);
  }
}
