// Security types of the benchmark's RFB handshake, shared by rfb-stream-server
// and rfb-load-client: None, VncAuth (any response is accepted: a load
// generator, not a server), and VeNCrypt with a TLS subtype, so a proxy's
// `vencrypt: terminate` can be measured against a direct TLS connection:
//   tls-none:  VeNCrypt TLSNone, anonymous TLS 1.2 (ADH/AECDH suites at
//              security level 0), what TigerVNC speaks without certificates;
//   x509-none: VeNCrypt X509None, certificate TLS (1.3 unless capped), the
//              server presents --cert/--key; the client verifies nothing.
// A Connection is the socket plus, after VeNCrypt's ack, the TLS stream on it;
// reads and writes go through whichever is in use.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <openssl/ssl.h>

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>

namespace vhm::bench {

enum class Security { none, vnc, tls_none, x509_none };

inline Security parse_security(const std::string& text) {
    if (text == "none") return Security::none;
    if (text == "vnc") return Security::vnc;
    if (text == "tls-none") return Security::tls_none;
    if (text == "x509-none") return Security::x509_none;
    throw std::invalid_argument("unknown --security '" + text + "' (none, vnc, tls-none, x509-none)");
}

inline const char* security_name(Security security) {
    switch (security) {
    case Security::none: return "none";
    case Security::vnc: return "vnc";
    case Security::tls_none: return "tls-none";
    case Security::x509_none: return "x509-none";
    }
    return "?";
}

inline bool uses_tls(Security security) { return security == Security::tls_none || security == Security::x509_none; }

// RFB security type and VeNCrypt subtype numbers.
inline constexpr std::uint8_t security_type_none = 1;
inline constexpr std::uint8_t security_type_vnc = 2;
inline constexpr std::uint8_t security_type_vencrypt = 19;
inline constexpr std::uint32_t vencrypt_tls_none = 257;
inline constexpr std::uint32_t vencrypt_x509_none = 260;

inline std::uint8_t security_type(Security security) {
    switch (security) {
    case Security::none: return security_type_none;
    case Security::vnc: return security_type_vnc;
    default: return security_type_vencrypt;
    }
}

inline std::uint32_t vencrypt_subtype(Security security) {
    return security == Security::tls_none ? vencrypt_tls_none : vencrypt_x509_none;
}

namespace ssl = boost::asio::ssl;

inline void tls_setup_failed(const char* what) {
    throw std::runtime_error(std::string("TLS setup: ") + what);
}

// Anonymous suites as TigerVNC offers them (TLS 1.3 has none).
inline void make_anonymous(ssl::context& context) {
    SSL_CTX* ctx = context.native_handle();
    if (SSL_CTX_set_max_proto_version(ctx, TLS1_2_VERSION) != 1) tls_setup_failed("cannot cap at TLS 1.2");
    if (SSL_CTX_set_cipher_list(ctx, "aNULL:!eNULL:@SECLEVEL=0") != 1) tls_setup_failed("no anonymous suites");
}

// Server side; cert/key only for x509-none.
inline std::optional<ssl::context> server_tls_context(Security security, const std::string& cert,
                                                      const std::string& key) {
    if (!uses_tls(security)) return std::nullopt;
    ssl::context context(ssl::context::tls_server);
    SSL_CTX* ctx = context.native_handle();
    SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_TICKET);
    SSL_CTX_set_num_tickets(ctx, 0);
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    if (security == Security::tls_none) {
        make_anonymous(context);
        SSL_CTX_set_dh_auto(ctx, 1);
    } else {
        if (cert.empty() || key.empty()) throw std::invalid_argument("--security x509-none needs --cert and --key");
        if (SSL_CTX_use_certificate_chain_file(ctx, cert.c_str()) != 1) tls_setup_failed("cannot load --cert");
        if (SSL_CTX_use_PrivateKey_file(ctx, key.c_str(), SSL_FILETYPE_PEM) != 1) tls_setup_failed("cannot load --key");
    }
    return context;
}

// Client side: verifies nothing (the benchmark measures cost, not trust).
inline std::optional<ssl::context> client_tls_context(Security security) {
    if (!uses_tls(security)) return std::nullopt;
    ssl::context context(ssl::context::tls_client);
    SSL_CTX* ctx = context.native_handle();
    SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION);
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    if (security == Security::tls_none) make_anonymous(context);
    context.set_verify_mode(ssl::verify_none);
    return context;
}

// One session's byte stream: plain TCP, then optionally TLS on the same socket.
// Never moved once TLS started (the TLS stream refers to the socket).
struct Connection {
    explicit Connection(boost::asio::ip::tcp::socket s) : socket(std::move(s)) {}
    Connection(const Connection&) = delete;
    Connection& operator=(const Connection&) = delete;

    boost::asio::ip::tcp::socket socket;
    std::optional<ssl::stream<boost::asio::ip::tcp::socket&>> tls;

    boost::asio::awaitable<void> start_tls(ssl::context& context, ssl::stream_base::handshake_type side) {
        tls.emplace(socket, context);
        co_await tls->async_handshake(side, boost::asio::use_awaitable);
    }

    template <typename Buffer>
    boost::asio::awaitable<void> read_exactly(const Buffer& buffer) {
        if (tls) {
            co_await boost::asio::async_read(*tls, buffer, boost::asio::use_awaitable);
        } else {
            co_await boost::asio::async_read(socket, buffer, boost::asio::use_awaitable);
        }
    }

    template <typename Buffer>
    boost::asio::awaitable<void> write_all(const Buffer& buffer) {
        if (tls) {
            co_await boost::asio::async_write(*tls, buffer, boost::asio::use_awaitable);
        } else {
            co_await boost::asio::async_write(socket, buffer, boost::asio::use_awaitable);
        }
    }

    // Returns {error, bytes}; never throws.
    template <typename Buffer, typename Token>
    auto read_some(const Buffer& buffer, Token token) {
        return tls ? tls->async_read_some(buffer, token) : socket.async_read_some(buffer, token);
    }

    template <typename Buffer, typename Token>
    auto write_some(const Buffer& buffer, Token token) {
        return tls ? tls->async_write_some(buffer, token) : socket.async_write_some(buffer, token);
    }
};

}  // namespace vhm::bench
