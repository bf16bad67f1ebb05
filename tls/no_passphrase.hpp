#pragma once
// OpenSSL's pem_password_cb that never prompts on a terminal for a
// passphrase: an encrypted key fails to load instead (the config check says so).
namespace vhm::tls {

inline int no_passphrase(char*, int, int, void*) { return -1; }

}  // namespace vhm::tls
