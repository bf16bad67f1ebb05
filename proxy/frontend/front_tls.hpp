#pragma once
// The TLS side of a listener's front end (`frontend_tls:`): the server
// context built from its files when the FrontEnd is made (so a reload reads
// renewed certificates), and the user a client certificate names.
#include <boost/asio/ssl/context.hpp>
#include <optional>
#include <string>

#include "conf/config.hpp"

typedef struct ssl_st SSL;

namespace vhm::proxy::frontend {

// cert/key (+ chain), min_version, ciphers, ciphersuites, client_ca with
// client_cert optional/required; session tickets on (browsers open several
// connections), SSL_MODE_RELEASE_BUFFERS (idle sessions give OpenSSL's record
// buffers back). nullopt with `error` naming the key or file.
std::optional<boost::asio::ssl::context> front_tls_context(const conf::FrontendTlsConfig& config, std::string& error);

// A verified client certificate's CN, else its first DNS name; empty
// without one. Escaped for log lines (it becomes {user}).
std::string certificate_user(SSL* ssl);

}  // namespace vhm::proxy::frontend
