// rfb-stream-server: the VNC server side of the benchmark.
//
// Speaks just enough RFB 3.8 to look like a real server to a proxy that
// parses the handshake (security None, VncAuth accepting any response, or
// VeNCrypt TLSNone / X509None: --security, bench_security.hpp), then sends
// FramebufferUpdates from one prebuilt buffer as fast as the peer reads.
// Pixels are never computed per write, so the server costs little CPU and
// the measurement is bounded by the path under test, not by the load generator.
//
// Encodings (--encoding, update_encoders.hpp):
//   raw (default): 1024x128 strips of xorshift noise, one rectangle each.
//   hextile, tight, zrle: a desktop-like picture (windows, anti-aliased text,
//       a photograph, a taskbar) encoded as a real server's encoder would:
//       Hextile 16x16 tiles (background only, mono or coloured subrects, raw);
//       Tight 128x64 blocks (fill, mono and indexed palettes, full colour,
//       JPEG on the photograph when built with libjpeg) over zlib streams 0-2;
//       ZRLE 512-pixel-wide rectangles of 64x64 tiles (solid, packed palette,
//       palette RLE, plain RLE, raw) in one zlib stream. Tight and ZRLE send a
//       one-off intro first (the zlib headers), then loop.
//   The server sends the chosen encoding whatever the viewer's SetEncodings
//   says (it reads and ignores it): a benchmark, not a server. rfb-load-client
//   --encoding asks for the same one, as a real viewer would.
//
// Modes (--mode):
//   on-request (default): after ServerInit, wait for the viewer's first
//       FramebufferUpdateRequest, then stream forever. One server instance
//       therefore serves idle sessions (viewer never asks) and streaming
//       sessions (viewer asks) at the same time.
//   push: stream right after ServerInit without waiting for a request.
//   idle: never send anything after ServerInit.
//
// stdout: one JSON line when listening ({"event":"ready","port":N,...}) and
// one stats line per SIGUSR1 and at exit; compare.sh uses the stats line's
// bytes_sent to see when every stalled session's kernel buffers are full.
#include "bench_common.hpp"
#include "bench_security.hpp"
#include "update_encoders.hpp"
#include "update_stream_checker.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/program_options.hpp>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstring>
#include <functional>
#include <iostream>
#include <string>
#include <vector>

namespace vhm::bench {
namespace {

namespace asio = boost::asio;
using asio::awaitable;
using asio::use_awaitable;
using tcp = asio::ip::tcp;
using namespace asio::experimental::awaitable_operators;

enum class StreamMode { on_request, push, idle };

struct ServerOptions {
    tcp::endpoint listen;
    StreamMode mode = StreamMode::on_request;
    std::uint16_t width = 1024;
    std::uint16_t height = 768;
    std::uint16_t strip_rows = 128;
    std::string name = "vhm-bench";
    StreamEncoding encoding = StreamEncoding::raw;
    int sndbuf = 0;  // SO_SNDBUF per session; 0 = kernel default (autotuning)
    Security security = Security::none;
    std::string cert;  // x509-none: PEM certificate and key
    std::string key;
};

struct ServerStats {
    std::uint64_t sessions_total = 0;
    std::uint64_t sessions_open = 0;
    std::uint64_t streaming = 0;
    std::uint64_t handshake_failures = 0;
    std::uint64_t bytes_sent = 0;
};

// Counts a value up for the lifetime of a scope (open sessions, streaming ones).
class ScopedCount {
public:
    explicit ScopedCount(std::uint64_t& counter) : counter_(counter) { ++counter_; }
    ~ScopedCount() { --counter_; }
    ScopedCount(const ScopedCount&) = delete;
    ScopedCount& operator=(const ScopedCount&) = delete;

private:
    std::uint64_t& counter_;
};

// Builds the encoding's stream and checks it with the load client's own
// framing checker (a broken encoder fails here, not as a benchmark result).
EncodedStream build_checked_stream(const ServerOptions& options) {
    EncodedStream stream = build_encoded_stream(
        options.encoding, StreamLayout{options.width, options.height, options.strip_rows});
    UpdateStreamChecker checker(options.width, options.height);
    const bool ok = checker.feed(stream.intro.data(), stream.intro.size()) &&
                    checker.feed(stream.loop.data(), stream.loop.size()) &&
                    checker.feed(stream.loop.data(), stream.loop.size());
    const std::uint64_t loops = stream.intro.empty() ? 2 : 3;
    if (!ok || checker.updates() != loops * stream.updates_per_loop || checker.rects() != loops * stream.rects_per_loop) {
        throw std::logic_error(std::string("the ") + stream_encoding_name(options.encoding) +
                               " stream does not frame: " + (ok ? "update count" : checker.error()));
    }
    return stream;
}

std::vector<std::uint8_t> build_server_init(const ServerOptions& options) {
    std::vector<std::uint8_t> out(server_init_fixed_size + options.name.size());
    std::uint8_t* p = out.data();
    put_u16(p, options.width);
    put_u16(p + 2, options.height);
    p[4] = 32;   // bits per pixel
    p[5] = 24;   // depth
    p[6] = 0;    // little-endian pixels
    p[7] = 1;    // true colour
    put_u16(p + 8, 255);
    put_u16(p + 10, 255);
    put_u16(p + 12, 255);
    p[14] = 16;  // red shift
    p[15] = 8;   // green shift
    p[16] = 0;   // blue shift
    put_u32(p + 20, static_cast<std::uint32_t>(options.name.size()));
    std::memcpy(p + server_init_fixed_size, options.name.data(), options.name.size());
    return out;
}

class StreamServer {
public:
    explicit StreamServer(asio::io_context& io, ServerOptions options)
        : io_(io),
          options_(std::move(options)),
          stream_(build_checked_stream(options_)),
          server_init_(build_server_init(options_)),
          tls_context_(server_tls_context(options_.security, options_.cert, options_.key)),
          acceptor_(io, options_.listen.protocol()) {
        acceptor_.set_option(asio::socket_base::reuse_address(true));
        acceptor_.bind(options_.listen);
        acceptor_.listen(asio::socket_base::max_listen_connections);
    }

    unsigned short port() const { return acceptor_.local_endpoint().port(); }
    const EncodedStream& stream() const { return stream_; }
    const ServerStats& stats() const { return stats_; }
    void close() { acceptor_.close(); }

    awaitable<void> accept_loop() {
        for (;;) {
            auto [ec, socket] = co_await acceptor_.async_accept(asio::as_tuple(use_awaitable));
            if (ec == asio::error::operation_aborted) {
                co_return;
            }
            if (ec) {
                // EMFILE and friends: report, back off briefly, keep serving.
                std::cerr << "rfb-stream-server: accept: " << ec.message() << '\n';
                asio::steady_timer pause(io_, std::chrono::milliseconds(20));
                co_await pause.async_wait(asio::as_tuple(use_awaitable));
                continue;
            }
            asio::co_spawn(io_, session(std::move(socket)), [](std::exception_ptr error) {
                if (error) {
                    try {
                        std::rethrow_exception(error);
                    } catch (const std::exception& e) {
                        std::cerr << "rfb-stream-server: session: " << e.what() << '\n';
                    }
                }
            });
        }
    }

private:
    awaitable<void> session(tcp::socket socket) {
        ++stats_.sessions_total;
        ScopedCount open(stats_.sessions_open);
        boost::system::error_code ignored;
        socket.set_option(tcp::no_delay(true), ignored);
        if (options_.sndbuf > 0) {
            socket.set_option(asio::socket_base::send_buffer_size(options_.sndbuf), ignored);
        }
        Connection connection(std::move(socket));
        try {
            co_await handshake(connection);
        } catch (const std::exception&) {
            ++stats_.handshake_failures;
            co_return;
        }
        try {
            if (options_.mode == StreamMode::on_request) {
                co_await read_client_messages(connection, true);
            }
            if (options_.mode == StreamMode::idle) {
                co_await read_client_messages(connection, false);
            } else {
                // && cancels the writer as soon as the reader sees EOF (and the
                // other way round), and both finish before the socket goes away.
                co_await (read_client_messages(connection, false) && stream_updates(connection));
            }
        } catch (const std::exception&) {
            // Peer closed or reset (one or both directions failed, which &&
            // reports as multiple_exceptions): the normal end of a session.
        }
    }

    awaitable<void> handshake(Connection& connection) {
        static constexpr char version[] = "RFB 003.008\n";
        co_await connection.write_all(asio::buffer(version, version_size));
        char client_version[version_size];
        co_await connection.read_exactly(asio::buffer(client_version));
        if (std::memcmp(client_version, "RFB 003.", 8) != 0) {
            throw boost::system::system_error(asio::error::invalid_argument, "client version");
        }
        const std::uint8_t security_types[] = {1, security_type(options_.security)};  // one type
        co_await connection.write_all(asio::buffer(security_types));
        std::uint8_t chosen = 0;
        co_await connection.read_exactly(asio::buffer(&chosen, 1));
        if (chosen != security_types[1]) {
            throw boost::system::system_error(asio::error::invalid_argument, "security type");
        }
        if (options_.security == Security::vnc) {
            // A fixed challenge; any response is accepted.
            std::uint8_t challenge[16] = {'v', 'h', 'm', '-', 'b', 'e', 'n', 'c', 'h', 0, 1, 2, 3, 4, 5, 6};
            co_await connection.write_all(asio::buffer(challenge));
            co_await connection.read_exactly(asio::buffer(challenge));
        } else if (uses_tls(options_.security)) {
            co_await vencrypt_handshake(connection);
        }
        static constexpr std::uint8_t security_ok[] = {0, 0, 0, 0};
        co_await connection.write_all(asio::buffer(security_ok));
        std::uint8_t shared_flag = 0;
        co_await connection.read_exactly(asio::buffer(&shared_flag, 1));
        co_await connection.write_all(asio::buffer(server_init_));
    }

    // VeNCrypt 0.2 with one TLS subtype; TLS runs from the ack on, so the
    // SecurityResult and everything after it are inside TLS.
    awaitable<void> vencrypt_handshake(Connection& connection) {
        static constexpr std::uint8_t server_version[] = {0, 2};
        co_await connection.write_all(asio::buffer(server_version));
        std::uint8_t client_version[2];
        co_await connection.read_exactly(asio::buffer(client_version));
        if (client_version[0] != 0 || client_version[1] != 2) {
            throw boost::system::system_error(asio::error::invalid_argument, "VeNCrypt version");
        }
        std::uint8_t offer[6] = {0, 1};  // version ack 0, one subtype
        put_u32(offer + 2, vencrypt_subtype(options_.security));
        co_await connection.write_all(asio::buffer(offer));
        std::uint8_t choice[4];
        co_await connection.read_exactly(asio::buffer(choice));
        if (get_u32(choice) != vencrypt_subtype(options_.security)) {
            throw boost::system::system_error(asio::error::invalid_argument, "VeNCrypt subtype");
        }
        static constexpr std::uint8_t tls_ack[] = {1};
        co_await connection.write_all(asio::buffer(tls_ack));
        co_await connection.start_tls(*tls_context_, ssl::stream_base::server);
    }

    // Reads and discards client messages, using RFB's fixed lengths to stay in
    // sync. With until_update_request it returns at the first
    // FramebufferUpdateRequest; otherwise it runs until the peer goes away.
    awaitable<void> read_client_messages(Connection& connection, bool until_update_request) {
        std::uint8_t scratch[4096];
        auto read_n = [&](std::size_t n) -> awaitable<void> {
            while (n > 0) {
                const std::size_t chunk = std::min(n, sizeof scratch);
                co_await connection.read_exactly(asio::buffer(scratch, chunk));
                n -= chunk;
            }
        };
        for (;;) {
            co_await read_n(1);
            const std::uint8_t type = scratch[0];
            switch (type) {
            case 0: co_await read_n(19); break;  // SetPixelFormat
            case 2: {                             // SetEncodings
                co_await read_n(3);
                co_await read_n(std::size_t{get_u16(scratch + 1)} * 4);
                break;
            }
            case 3:  // FramebufferUpdateRequest
                co_await read_n(9);
                if (until_update_request) {
                    co_return;
                }
                break;
            case 4: co_await read_n(7); break;  // KeyEvent
            case 5: co_await read_n(5); break;  // PointerEvent
            case 6: {                            // ClientCutText
                co_await read_n(7);
                const std::uint32_t length = get_u32(scratch + 3);
                if (length > (1u << 20)) {
                    throw boost::system::system_error(asio::error::message_size, "cut text");
                }
                co_await read_n(length);
                break;
            }
            default:
                throw boost::system::system_error(asio::error::invalid_argument, "client message type");
            }
        }
    }

    // The intro once (Tight, ZRLE), then the loop forever.
    awaitable<void> stream_updates(Connection& connection) {
        ScopedCount streaming(stats_.streaming);
        const std::vector<std::uint8_t>* buffer = stream_.intro.empty() ? &stream_.loop : &stream_.intro;
        std::size_t offset = 0;
        for (;;) {
            const std::size_t n = co_await connection.write_some(
                asio::buffer(buffer->data() + offset, buffer->size() - offset), use_awaitable);
            stats_.bytes_sent += n;
            offset += n;
            if (offset == buffer->size()) {
                offset = 0;
                buffer = &stream_.loop;
            }
        }
    }

    asio::io_context& io_;
    ServerOptions options_;
    const EncodedStream stream_;
    const std::vector<std::uint8_t> server_init_;
    std::optional<ssl::context> tls_context_;
    tcp::acceptor acceptor_;
    ServerStats stats_;
};

std::string stats_line(const char* event, const ServerStats& s) {
    return std::string("{\"event\":\"") + event + "\",\"sessions_total\":" + std::to_string(s.sessions_total) +
           ",\"sessions_open\":" + std::to_string(s.sessions_open) + ",\"streaming\":" +
           std::to_string(s.streaming) + ",\"handshake_failures\":" + std::to_string(s.handshake_failures) +
           ",\"bytes_sent\":" + std::to_string(s.bytes_sent) + "}";
}

const char* mode_name(StreamMode mode) {
    switch (mode) {
    case StreamMode::on_request: return "on-request";
    case StreamMode::push: return "push";
    case StreamMode::idle: return "idle";
    }
    return "?";
}

int run(int argc, char** argv) {
    namespace po = boost::program_options;
    std::string listen_text = "127.0.0.1:0";
    std::string mode_text = "on-request";
    std::string encoding_text = "raw";
    std::string security_text = "none";
    ServerOptions options;
    po::options_description description("rfb-stream-server options");
    description.add_options()
        ("help,h", "show this help")
        ("listen", po::value(&listen_text)->default_value(listen_text), "HOST:PORT to listen on (port 0: kernel picks, see the ready line)")
        ("mode", po::value(&mode_text)->default_value(mode_text), "on-request | push | idle")
        ("encoding", po::value(&encoding_text)->default_value(encoding_text), "raw | hextile | tight | zrle (sent whatever the viewer asks for)")
        ("width", po::value(&options.width)->default_value(options.width), "framebuffer width")
        ("height", po::value(&options.height)->default_value(options.height), "framebuffer height")
        ("strip-rows", po::value(&options.strip_rows)->default_value(options.strip_rows), "rows per FramebufferUpdate rectangle")
        ("name", po::value(&options.name)->default_value(options.name), "desktop name in ServerInit")
        ("sndbuf", po::value(&options.sndbuf)->default_value(options.sndbuf), "SO_SNDBUF per session in bytes (0: kernel default)")
        ("security", po::value(&security_text)->default_value(security_text), "none | vnc (any response accepted) | tls-none | x509-none (VeNCrypt with TLS)")
        ("cert", po::value(&options.cert), "x509-none: PEM certificate chain")
        ("key", po::value(&options.key), "x509-none: PEM private key");
    po::variables_map vm;
    po::store(po::parse_command_line(argc, argv, description), vm);
    po::notify(vm);
    if (vm.count("help")) {
        std::cout << description << '\n';
        return 0;
    }
    if (mode_text == "on-request") {
        options.mode = StreamMode::on_request;
    } else if (mode_text == "push") {
        options.mode = StreamMode::push;
    } else if (mode_text == "idle") {
        options.mode = StreamMode::idle;
    } else {
        throw std::invalid_argument("unknown --mode '" + mode_text + "'");
    }
    if (options.width == 0 || options.height == 0 || options.strip_rows == 0 || options.name.size() > 4096) {
        throw std::invalid_argument("width, height and strip-rows must be > 0, name <= 4096 bytes");
    }
    options.encoding = parse_stream_encoding(encoding_text);
    options.security = parse_security(security_text);
    options.listen = parse_endpoint(listen_text);
    ::signal(SIGPIPE, SIG_IGN);
    const rlim_t fd_limit = raise_nofile_limit();

    asio::io_context io(1);
    StreamServer server(io, options);
    asio::co_spawn(io, server.accept_loop(), [&io](std::exception_ptr error) {
        if (error) {
            try {
                std::rethrow_exception(error);
            } catch (const std::exception& e) {
                std::cerr << "rfb-stream-server: accept loop: " << e.what() << '\n';
            }
            io.stop();
        }
    });

    // SIGUSR1: print stats and keep going; SIGTERM/SIGINT: print stats and stop.
    asio::signal_set stats_signal(io, SIGUSR1);
    asio::signal_set stop_signals(io, SIGTERM, SIGINT);
    std::function<void(const boost::system::error_code&, int)> on_stats =
        [&](const boost::system::error_code& ec, int) {
            if (ec) {
                return;
            }
            emit_line(stats_line("stats", server.stats()));
            stats_signal.async_wait(on_stats);
        };
    stats_signal.async_wait(on_stats);
    stop_signals.async_wait([&](const boost::system::error_code& ec, int) {
        if (!ec) {
            emit_line(stats_line("exit", server.stats()));
            io.stop();
        }
    });

    emit_line(std::string("{\"event\":\"ready\",\"port\":") + std::to_string(server.port()) + ",\"mode\":\"" +
              mode_name(options.mode) + "\",\"width\":" + std::to_string(options.width) +
              ",\"height\":" + std::to_string(options.height) +
              ",\"encoding\":\"" + stream_encoding_name(options.encoding) + "\"" +
              ",\"security\":\"" + security_name(options.security) + "\"" +
              ",\"update_cycle_bytes\":" + std::to_string(server.stream().loop.size()) +
              ",\"intro_bytes\":" + std::to_string(server.stream().intro.size()) +
              ",\"updates_per_cycle\":" + std::to_string(server.stream().updates_per_loop) +
              ",\"rects_per_cycle\":" + std::to_string(server.stream().rects_per_loop) +
              ",\"mix\":\"" + server.stream().mix + "\"" +
              ",\"fd_limit\":" + std::to_string(fd_limit) + "}");
    io.run();
    return 0;
}

}  // namespace
}  // namespace vhm::bench

int main(int argc, char** argv) {
    try {
        return vhm::bench::run(argc, argv);
    } catch (const std::exception& e) {
        std::cerr << "rfb-stream-server: " << e.what() << '\n';
        return 2;
    }
}
