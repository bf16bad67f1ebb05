#pragma once
// A terminated VeNCrypt leg: OpenSSL over the leg's Transport (plain TCP, or
// a WebSocket or TLS front end: TLS inside it), held by reference so
// Session::close() (which closes the transports) still ends it. Declared
// only: the files that run TLS include <boost/asio/ssl/stream.hpp>, every
// other user of session.hpp stays free of OpenSSL headers.
#include "proxy/asio.hpp"

namespace boost::asio::ssl {
template <typename Stream>
class stream;
}  // namespace boost::asio::ssl

namespace vhm::proxy {

namespace relay {
class Transport;
}

using TlsStream = asio::ssl::stream<relay::Transport&>;

}  // namespace vhm::proxy
