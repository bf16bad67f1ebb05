#include "tls/error_text.hpp"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <boost/asio/error.hpp>
#include <boost/asio/ssl/error.hpp>

namespace vhm::tls {

bool is_peer_close(const boost::system::error_code& error) {
  return error == boost::asio::error::eof || error == boost::asio::ssl::error::stream_truncated ||
         error == boost::asio::error::connection_reset || error == boost::asio::error::broken_pipe;
}

std::string describe_error(const boost::system::error_code& error, SSL* ssl) {
  if (error == boost::asio::ssl::error::stream_truncated || error == boost::asio::error::eof)
    return "the peer closed the connection";
  if (error == boost::asio::error::connection_reset) return "the peer reset the connection";
  if (error == boost::asio::error::broken_pipe) return "the peer is gone (broken pipe)";
  if (error.category() == boost::asio::error::get_ssl_category()) {
    const auto code = static_cast<unsigned long>(error.value());
    const char* reason = ERR_reason_error_string(code);
    std::string text = reason ? reason : "TLS error " + std::to_string(ERR_GET_REASON(code));
    if (ssl != nullptr && ERR_GET_REASON(code) == SSL_R_CERTIFICATE_VERIFY_FAILED) {
      const long result = SSL_get_verify_result(ssl);
      if (result != X509_V_OK) text += std::string(": ") + X509_verify_cert_error_string(result);
    }
    return text;
  }
  return error.message();
}

}  // namespace vhm::tls
