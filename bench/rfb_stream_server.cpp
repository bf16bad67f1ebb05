// rfb-stream-server: the VNC server side of the benchmark.
//
// Speaks just enough RFB 3.8 (security None) to look like a real server to a
// proxy that parses the handshake, then sends raw-encoded FramebufferUpdates
// from one prebuilt buffer as fast as the peer reads. Pixels are never
// computed per write, so the server costs little CPU and the measurement is
// bounded by the path under test, not by the load generator.
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
    int sndbuf = 0;  // SO_SNDBUF per session; 0 = kernel default (autotuning)
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

// One full screen as horizontal strips, each its own FramebufferUpdate with one
// raw rectangle. Pixels are xorshift noise so nothing on the path can shortcut
// them (compression, dedup) and a stale or shifted stream shows up as garbage.
std::vector<std::uint8_t> build_update_stream(const ServerOptions& options) {
    std::vector<std::uint8_t> out;
    const std::size_t frame_pixels = std::size_t{options.width} * options.height;
    out.reserve(frame_pixels * bytes_per_pixel + (options.height / options.strip_rows + 1) * 16);
    std::uint32_t noise = 0x9e3779b9u;
    for (std::uint16_t y = 0; y < options.height; y = static_cast<std::uint16_t>(y + options.strip_rows)) {
        const auto rows = static_cast<std::uint16_t>(std::min<int>(options.strip_rows, options.height - y));
        std::uint8_t header[update_header_size + rect_header_size] = {};
        header[0] = 0;  // FramebufferUpdate
        put_u16(header + 2, 1);
        put_u16(header + 4, 0);
        put_u16(header + 6, y);
        put_u16(header + 8, options.width);
        put_u16(header + 10, rows);
        put_u32(header + 12, 0);  // raw encoding
        out.insert(out.end(), std::begin(header), std::end(header));
        const std::size_t pixel_bytes = std::size_t{options.width} * rows * bytes_per_pixel;
        for (std::size_t i = 0; i < pixel_bytes; i += 4) {
            noise ^= noise << 13;
            noise ^= noise >> 17;
            noise ^= noise << 5;
            std::uint8_t pixel[4];
            std::memcpy(pixel, &noise, sizeof pixel);
            pixel[3] = 0;  // padding byte of a depth-24 pixel
            out.insert(out.end(), std::begin(pixel), std::end(pixel));
        }
    }
    return out;
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
          updates_(build_update_stream(options_)),
          server_init_(build_server_init(options_)),
          acceptor_(io, options_.listen.protocol()) {
        acceptor_.set_option(asio::socket_base::reuse_address(true));
        acceptor_.bind(options_.listen);
        acceptor_.listen(asio::socket_base::max_listen_connections);
    }

    unsigned short port() const { return acceptor_.local_endpoint().port(); }
    std::size_t update_cycle_bytes() const { return updates_.size(); }
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
        try {
            co_await handshake(socket);
        } catch (const boost::system::system_error&) {
            ++stats_.handshake_failures;
            co_return;
        }
        try {
            if (options_.mode == StreamMode::on_request) {
                co_await read_client_messages(socket, true);
            }
            if (options_.mode == StreamMode::idle) {
                co_await read_client_messages(socket, false);
            } else {
                // && cancels the writer as soon as the reader sees EOF (and the
                // other way round), and both finish before the socket goes away.
                co_await (read_client_messages(socket, false) && stream_updates(socket));
            }
        } catch (const std::exception&) {
            // Peer closed or reset (one or both directions failed, which &&
            // reports as multiple_exceptions): the normal end of a session.
        }
    }

    awaitable<void> handshake(tcp::socket& socket) {
        static constexpr char version[] = "RFB 003.008\n";
        co_await asio::async_write(socket, asio::buffer(version, version_size), use_awaitable);
        char client_version[version_size];
        co_await asio::async_read(socket, asio::buffer(client_version), use_awaitable);
        if (std::memcmp(client_version, "RFB 003.", 8) != 0) {
            throw boost::system::system_error(asio::error::invalid_argument, "client version");
        }
        static constexpr std::uint8_t security_types[] = {1, 1};  // one type: None
        co_await asio::async_write(socket, asio::buffer(security_types), use_awaitable);
        std::uint8_t chosen = 0;
        co_await asio::async_read(socket, asio::buffer(&chosen, 1), use_awaitable);
        if (chosen != 1) {
            throw boost::system::system_error(asio::error::invalid_argument, "security type");
        }
        static constexpr std::uint8_t security_ok[] = {0, 0, 0, 0};
        co_await asio::async_write(socket, asio::buffer(security_ok), use_awaitable);
        std::uint8_t shared_flag = 0;
        co_await asio::async_read(socket, asio::buffer(&shared_flag, 1), use_awaitable);
        co_await asio::async_write(socket, asio::buffer(server_init_), use_awaitable);
    }

    // Reads and discards client messages, using RFB's fixed lengths to stay in
    // sync. With until_update_request it returns at the first
    // FramebufferUpdateRequest; otherwise it runs until the peer goes away.
    awaitable<void> read_client_messages(tcp::socket& socket, bool until_update_request) {
        std::uint8_t scratch[4096];
        auto read_n = [&](std::size_t n) -> awaitable<void> {
            while (n > 0) {
                const std::size_t chunk = std::min(n, sizeof scratch);
                co_await asio::async_read(socket, asio::buffer(scratch, chunk), use_awaitable);
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

    awaitable<void> stream_updates(tcp::socket& socket) {
        ScopedCount streaming(stats_.streaming);
        std::size_t offset = 0;
        for (;;) {
            const std::size_t n = co_await socket.async_write_some(
                asio::buffer(updates_.data() + offset, updates_.size() - offset), use_awaitable);
            stats_.bytes_sent += n;
            offset = (offset + n) % updates_.size();
        }
    }

    asio::io_context& io_;
    ServerOptions options_;
    const std::vector<std::uint8_t> updates_;
    const std::vector<std::uint8_t> server_init_;
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
    ServerOptions options;
    po::options_description description("rfb-stream-server options");
    description.add_options()
        ("help,h", "show this help")
        ("listen", po::value(&listen_text)->default_value(listen_text), "HOST:PORT to listen on (port 0: kernel picks, see the ready line)")
        ("mode", po::value(&mode_text)->default_value(mode_text), "on-request | push | idle")
        ("width", po::value(&options.width)->default_value(options.width), "framebuffer width")
        ("height", po::value(&options.height)->default_value(options.height), "framebuffer height")
        ("strip-rows", po::value(&options.strip_rows)->default_value(options.strip_rows), "rows per FramebufferUpdate rectangle")
        ("name", po::value(&options.name)->default_value(options.name), "desktop name in ServerInit")
        ("sndbuf", po::value(&options.sndbuf)->default_value(options.sndbuf), "SO_SNDBUF per session in bytes (0: kernel default)");
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
              ",\"update_cycle_bytes\":" + std::to_string(server.update_cycle_bytes()) +
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
