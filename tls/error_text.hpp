#pragma once
// Short, stable descriptions of TLS failures for log lines and the
// `tls_error: ...` detail: OpenSSL's reason ("no shared cipher", "wrong
// version number", "certificate verify failed: IP address mismatch") without
// the library and function noise, and the peer simply going away said in
// words. Decided on error_code values, never on message text.
#include <boost/system/error_code.hpp>

#include <string>

typedef struct ssl_st SSL;

namespace vhm::tls {

// `ssl`: the connection the error came from, for the certificate
// verification result; may be null.
std::string describe_error(const boost::system::error_code& error, SSL* ssl = nullptr);

// True for a peer that ended the connection (close_notify, TCP EOF with or
// without close_notify, a reset, a broken pipe): normal at the end of a
// session, not a TLS failure.
bool is_peer_close(const boost::system::error_code& error);

}  // namespace vhm::tls
