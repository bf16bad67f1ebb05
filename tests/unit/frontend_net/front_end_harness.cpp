#include "front_end_harness.hpp"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdlib.h>

#include <fstream>
#include <stdexcept>

namespace vhm::proxy::frontend::test {
namespace {

void require(bool ok, const char* what) {
  if (!ok) throw std::runtime_error(std::string("test certificates: ") + what);
}

EVP_PKEY* new_key() {
  EVP_PKEY* key = EVP_EC_gen("P-256");
  require(key != nullptr, "key");
  return key;
}

X509* new_cert(EVP_PKEY* key, const char* cn, X509* issuer, EVP_PKEY* issuer_key, bool ca) {
  X509* cert = X509_new();
  X509_set_version(cert, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert), ca ? 1 : 2);
  X509_gmtime_adj(X509_getm_notBefore(cert), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert), 3600L * 24);
  X509_set_pubkey(cert, key);
  X509_NAME_add_entry_by_txt(X509_get_subject_name(cert), "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(cn), -1, -1, 0);
  X509* signer = issuer ? issuer : cert;
  X509_set_issuer_name(cert, X509_get_subject_name(signer));
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, signer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext =
      X509V3_EXT_conf_nid(nullptr, &ctx, NID_basic_constraints, ca ? "critical,CA:TRUE" : "CA:FALSE");
  require(ext != nullptr, "extension");
  X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
  if (!ca) {
    ext = X509V3_EXT_conf_nid(nullptr, &ctx, NID_subject_alt_name, "DNS:localhost,IP:127.0.0.1");
    X509_add_ext(cert, ext, -1);
    X509_EXTENSION_free(ext);
  }
  require(X509_sign(cert, issuer_key ? issuer_key : key, EVP_sha256()) > 0, "sign");
  return cert;
}

void write_pem(const std::filesystem::path& path, X509* cert, EVP_PKEY* key) {
  FILE* file = std::fopen(path.c_str(), "w");
  require(file != nullptr, "open");
  if (cert) PEM_write_X509(file, cert);
  if (key) PEM_write_PrivateKey(file, key, nullptr, nullptr, 0, nullptr, nullptr);
  std::fclose(file);
}

}  // namespace

ScratchDir::ScratchDir() {
  std::string pattern = (std::filesystem::temp_directory_path() / "vhm-front-XXXXXX").string();
  require(::mkdtemp(pattern.data()) != nullptr, "mkdtemp");
  path = pattern;
}

ScratchDir::~ScratchDir() {
  std::error_code ignored;
  std::filesystem::remove_all(path, ignored);
}

std::filesystem::path ScratchDir::write(const std::string& name, const std::string& content) const {
  const auto file = path / name;
  std::filesystem::create_directories(file.parent_path());
  std::ofstream(file, std::ios::binary) << content;
  return file;
}

TestCertificates::TestCertificates(const ScratchDir& dir) {
  EVP_PKEY* server_pkey = new_key();
  X509* server = new_cert(server_pkey, "localhost", nullptr, nullptr, false);
  EVP_PKEY* ca_pkey = new_key();
  X509* ca = new_cert(ca_pkey, "Test Client CA", nullptr, nullptr, true);
  EVP_PKEY* client_pkey = new_key();
  X509* client = new_cert(client_pkey, "alice", ca, ca_pkey, false);
  server_cert = dir.path / "server.pem";
  server_key = dir.path / "server.key";
  client_ca = dir.path / "client-ca.pem";
  client_cert = dir.path / "client.pem";
  client_key = dir.path / "client.key";
  write_pem(server_cert, server, nullptr);
  write_pem(server_key, nullptr, server_pkey);
  write_pem(client_ca, ca, nullptr);
  write_pem(client_cert, client, nullptr);
  write_pem(client_key, nullptr, client_pkey);
  for (X509* cert : {server, ca, client}) X509_free(cert);
  for (EVP_PKEY* key : {server_pkey, ca_pkey, client_pkey}) EVP_PKEY_free(key);
}

conf::ListenerConfig listener_config(std::initializer_list<conf::FrontProtocol> protocols) {
  conf::ListenerConfig config;
  config.listen = {"127.0.0.1", 0};
  config.target = {"127.0.0.1", 5999};
  config.handshake_timeout = std::chrono::seconds(3);
  config.frontend.protocols = 0;
  for (auto protocol : protocols) config.frontend.protocols |= static_cast<std::uint8_t>(protocol);
  config.frontend.sniff_timeout = std::chrono::milliseconds(60);
  config.frontend.web.request_timeout = std::chrono::milliseconds(1500);
  return config;
}

Harness::Harness(const conf::ListenerConfig& config) {
  front_end = make_front_end(config, error);
  if (!front_end) return;
  acceptor_ = std::make_unique<tcp::acceptor>(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  asio::co_spawn(io, accept_loop(), asio::detached);
}

Harness::~Harness() {
  if (acceptor_) {
    boost::system::error_code ignored;
    acceptor_->close(ignored);
  }
  io.stop();
}

tcp::endpoint Harness::endpoint() const { return acceptor_->local_endpoint(); }

awaitable<void> Harness::accept_loop() {
  for (;;) {
    auto [error, socket] = co_await acceptor_->async_accept(use_tuple);
    if (error) co_return;
    asio::co_spawn(io, accept_viewer(front_end, std::move(socket), "127.0.0.1:test"),
                   [this](std::exception_ptr failure, std::optional<Accepted> result) {
                     if (failure) std::rethrow_exception(failure);
                     outcome = std::move(result);
                     ++finished;
                   });
  }
}

bool Harness::run(awaitable<void> task, std::chrono::milliseconds limit) {
  struct State {
    bool done = false;
    std::exception_ptr failure;
  };
  auto state = std::make_shared<State>();
  asio::co_spawn(io, std::move(task), [state](std::exception_ptr e) {
    state->failure = e;
    state->done = true;
  });
  const bool in_time = run_until([&] { return state->done; }, limit);
  if (state->failure) std::rethrow_exception(state->failure);
  return in_time;
}

tcp::socket Harness::connect() {
  tcp::socket socket(io);
  socket.connect(endpoint());
  return socket;
}

}  // namespace vhm::proxy::frontend::test
