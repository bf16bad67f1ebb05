#include "tls/openssl_errors.hpp"

#include <openssl/err.h>

namespace vhm::tls {

void clear_openssl_errors() { ERR_clear_error(); }

std::string take_openssl_error(const std::string& fallback) {
  const unsigned long code = ERR_get_error();
  ERR_clear_error();
  if (code == 0) return fallback;
  const char* reason = ERR_reason_error_string(code);
  return reason ? std::string(reason) : "OpenSSL error " + std::to_string(code);
}

}  // namespace vhm::tls
