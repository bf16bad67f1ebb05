#pragma once
// A terminated VeNCrypt leg: OpenSSL over the session's own socket, held by
// reference so Session::close() (which closes the sockets) still ends it.
// Declared only: the files that run TLS include <boost/asio/ssl/stream.hpp>,
// every other user of session.hpp stays free of OpenSSL headers.
#include "proxy/asio.hpp"

namespace boost::asio::ssl {
template <typename Stream>
class stream;
}  // namespace boost::asio::ssl

namespace vhm::proxy {

using TlsStream = asio::ssl::stream<tcp::socket&>;

}  // namespace vhm::proxy
