// rfb-ws-load-client: a noVNC-like viewer for the WebSocket benchmark
// (bench/websocket.sh).
//
// Opens N WebSocket sessions (Boost.Beast, client role: every frame it sends
// is masked, as a browser's are) to ws://HOST:PORT/PATH with subprotocol
// `binary`, and speaks RFB 3.8 with security None inside binary messages,
// as noVNC does through websockify or vnc-hooks-manager. Then, by --mode:
//   throughput: asks for updates once (the bench server streams forever),
//               sends a small PointerEvent message every --input-ms as a user
//               moving the mouse would, and reads the binary messages as fast
//               as it can for --seconds; prints bytes/s of RFB payload. The
//               RFB framing inside the messages is checked.
//   idle:       asks for nothing; keeps one read pending to notice a close.
//   stalled:    once every session is up, asks for updates on all of them,
//               then never reads (a browser tab that stopped reading).
//   probe:      retries connect+upgrade+handshake until one works or --wait ends.
// idle/stalled print a "ready" line once all sessions are up and hold them
// until SIGTERM/SIGINT (or --hold); output is one JSON object per line.
#include "bench_common.hpp"
#include "update_stream_checker.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/websocket/stream.hpp>
#include <boost/program_options.hpp>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <list>
#include <memory>
#include <string>
#include <vector>

namespace vhm::bench {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
using asio::awaitable;
using asio::use_awaitable;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;
using WsStream = websocket::stream<beast::tcp_stream>;

enum class Mode { throughput, idle, stalled, probe };

struct Options {
    tcp::endpoint target;
    std::string path = "/websockify";
    Mode mode = Mode::throughput;
    unsigned sessions = 1;
    unsigned concurrency = 32;
    double seconds = 5.0;
    double hold = 600.0;
    double wait = 10.0;
    double handshake_timeout = 20.0;
    unsigned input_ms = 10;  // throughput: a PointerEvent this often (0: none)
    int rcvbuf = 0;
};

std::string fixed(double value, int decimals) {
    char text[64];
    std::snprintf(text, sizeof text, "%.*f", decimals, value);
    return text;
}

Clock::duration seconds_to_duration(double seconds) {
    return std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
}

// RFB bytes over binary messages: a byte-stream view of the message payloads.
class RfbOverWs {
public:
    explicit RfbOverWs(WsStream& ws) : ws_(ws) {}

    awaitable<void> read_exact(void* out, std::size_t count) {
        auto* dest = static_cast<std::uint8_t*>(out);
        while (count > 0) {
            if (buffer_.size() == 0) {
                co_await ws_.async_read(buffer_, use_awaitable);
            }
            const std::size_t n = std::min(count, buffer_.size());
            std::memcpy(dest, buffer_.data().data(), n);
            buffer_.consume(n);
            dest += n;
            count -= n;
        }
    }

    awaitable<void> write(const void* data, std::size_t size) {
        co_await ws_.async_write(asio::buffer(data, size), use_awaitable);
    }

private:
    WsStream& ws_;
    beast::flat_buffer buffer_;
};

struct ServerInitInfo {
    std::uint16_t width = 0;
    std::uint16_t height = 0;
};

awaitable<ServerInitInfo> rfb_handshake(RfbOverWs& rfb) {
    char version[version_size];
    co_await rfb.read_exact(version, sizeof version);
    if (std::memcmp(version, "RFB 003.008\n", version_size) != 0) {
        throw std::runtime_error("server does not offer RFB 003.008");
    }
    co_await rfb.write(version, sizeof version);
    std::uint8_t count = 0;
    co_await rfb.read_exact(&count, 1);
    if (count == 0) {
        throw std::runtime_error("server refused the connection");
    }
    std::uint8_t types[255];
    co_await rfb.read_exact(types, count);
    if (std::find(types, types + count, std::uint8_t{1}) == types + count) {
        throw std::runtime_error("server does not offer security type None");
    }
    const std::uint8_t none = 1;
    co_await rfb.write(&none, 1);
    std::uint8_t result[4];
    co_await rfb.read_exact(result, 4);
    if (get_u32(result) != 0) {
        throw std::runtime_error("SecurityResult is not OK");
    }
    const std::uint8_t shared = 1;
    co_await rfb.write(&shared, 1);
    std::uint8_t init[server_init_fixed_size];
    co_await rfb.read_exact(init, sizeof init);
    const std::uint32_t name_length = get_u32(init + 20);
    if (name_length > 4096) {
        throw std::runtime_error("ServerInit name too long");
    }
    std::vector<std::uint8_t> name(name_length);
    co_await rfb.read_exact(name.data(), name.size());
    co_return ServerInitInfo{get_u16(init), get_u16(init + 2)};
}

// SetEncodings (Raw) + a full-screen FramebufferUpdateRequest, in one message.
std::vector<std::uint8_t> update_request(const ServerInitInfo& info) {
    std::vector<std::uint8_t> message(8 + 10, 0);
    message[0] = 2;
    put_u16(message.data() + 2, 1);  // one encoding: Raw (0)
    std::uint8_t* p = message.data() + 8;
    p[0] = 3;
    put_u16(p + 6, info.width);
    put_u16(p + 8, info.height);
    return message;
}

struct Session {
    explicit Session(asio::io_context& io) : ws(io), rfb(ws) {}
    WsStream ws;
    RfbOverWs rfb;
    ServerInitInfo info;
};

awaitable<void> open_session(Session& session, const Options& options) {
    auto& layer = beast::get_lowest_layer(session.ws);
    if (options.rcvbuf > 0) {
        layer.socket().open(options.target.protocol());
        layer.socket().set_option(asio::socket_base::receive_buffer_size(options.rcvbuf));
    }
    layer.expires_after(seconds_to_duration(options.handshake_timeout));
    co_await layer.async_connect(options.target, use_awaitable);
    layer.socket().set_option(tcp::no_delay(true));
    session.ws.set_option(websocket::stream_base::decorator([](websocket::request_type& request) {
        request.set(beast::http::field::sec_websocket_protocol, "binary");
    }));
    session.ws.binary(true);
    session.ws.read_message_max(64u << 20);
    session.ws.auto_fragment(false);
    const std::string host = options.target.address().to_string() + ":" + std::to_string(options.target.port());
    co_await session.ws.async_handshake(host, options.path, use_awaitable);
    session.info = co_await rfb_handshake(session.rfb);
    layer.expires_never();
}

class LoadClient {
public:
    LoadClient(asio::io_context& io, Options options) : io_(io), options_(std::move(options)), timer_(io) {}

    void start() {
        started_ = Clock::now();
        const unsigned workers = std::max(1u, std::min(options_.concurrency, options_.sessions));
        for (unsigned i = 0; i < workers; ++i) {
            asio::co_spawn(io_, worker(), asio::detached);
        }
    }

    void finish(const char* why) {
        if (finished_) {
            return;
        }
        finished_ = true;
        emit_line(std::string("{\"event\":\"") + (options_.mode == Mode::throughput ? "result" : "done") +
                  "\",\"ok\":" + (healthy() && measured_ ? "true" : "false") + ",\"reason\":\"" + why + "\"" +
                  totals() + "}");
        io_.stop();
    }

    int exit_code() const { return healthy() && measured_ ? 0 : 1; }

private:
    bool healthy() const { return failed_ == 0 && closed_early_ == 0 && framing_errors_ == 0; }

    std::string totals() const {
        return ",\"sessions\":" + std::to_string(options_.sessions) + ",\"connected\":" + std::to_string(connected_) +
               ",\"failed\":" + std::to_string(failed_) + ",\"closed_early\":" + std::to_string(closed_early_) +
               ",\"framing_errors\":" + std::to_string(framing_errors_) + ",\"first_error\":\"" + first_error_ + "\"";
    }

    void note_error(const std::string& why) {
        if (first_error_.empty()) {
            for (const char c : why) {
                first_error_ += (c == '"' || c == '\\' || static_cast<unsigned char>(c) < 0x20) ? '?' : c;
            }
        }
    }

    awaitable<void> worker() {
        while (next_ < options_.sessions) {
            ++next_;
            auto session = std::make_shared<Session>(io_);
            try {
                co_await open_session(*session, options_);
                ++connected_;
                sessions_.push_back(session);
                if (options_.mode == Mode::throughput) {
                    const auto request = update_request(session->info);
                    co_await session->rfb.write(request.data(), request.size());
                    asio::co_spawn(io_, read_stream(session), asio::detached);
                    if (options_.input_ms > 0) {
                        asio::co_spawn(io_, send_input(session), asio::detached);
                    }
                } else if (options_.mode == Mode::idle) {
                    asio::co_spawn(io_, watch_idle(session), asio::detached);
                }
            } catch (const std::exception& e) {
                ++failed_;
                note_error(e.what());
            }
            if (connected_ + failed_ == options_.sessions) {
                all_up();
            }
        }
    }

    void all_up() {
        const double handshake_ms = std::chrono::duration<double, std::milli>(Clock::now() - started_).count();
        if (failed_ > 0) {
            finish("some sessions failed to connect or complete the handshake");
            return;
        }
        if (options_.mode == Mode::throughput) {
            const auto t0 = Clock::now();
            const std::uint64_t b0 = bytes_;
            timer_.expires_after(seconds_to_duration(options_.seconds));
            timer_.async_wait([this, t0, b0, handshake_ms](const boost::system::error_code& ec) {
                if (ec || finished_) {
                    return;
                }
                const double elapsed = std::chrono::duration<double>(Clock::now() - t0).count();
                const std::uint64_t bytes = bytes_ - b0;
                finished_ = true;
                measured_ = true;
                emit_line(std::string("{\"event\":\"result\",\"mode\":\"throughput\",\"ok\":") +
                          (healthy() ? "true" : "false") + ",\"seconds\":" + fixed(elapsed, 3) +
                          ",\"bytes\":" + std::to_string(bytes) +
                          ",\"mb_per_s\":" + fixed(static_cast<double>(bytes) / elapsed / 1e6, 1) +
                          ",\"messages\":" + std::to_string(messages_) + ",\"updates\":" + std::to_string(updates_) +
                          ",\"inputs_sent\":" + std::to_string(inputs_) + ",\"handshake_ms\":" +
                          fixed(handshake_ms, 1) + totals() + "}");
                io_.stop();
            });
            return;
        }
        if (options_.mode == Mode::stalled) {
            for (auto& session : sessions_) {
                asio::co_spawn(io_, ask_once(session), asio::detached);
            }
        }
        measured_ = true;
        emit_line(std::string("{\"event\":\"ready\",\"handshake_ms\":") + fixed(handshake_ms, 1) + totals() + "}");
        timer_.expires_after(seconds_to_duration(options_.hold));
        timer_.async_wait([this](const boost::system::error_code& ec) {
            if (!ec) {
                finish("--hold expired");
            }
        });
    }

    awaitable<void> ask_once(std::shared_ptr<Session> session) {
        const auto request = update_request(session->info);
        auto [ec, n] = co_await session->ws.async_write(asio::buffer(request), asio::as_tuple(use_awaitable));
        (void)n;
        if (ec) {
            ++closed_early_;
            note_error("update request: " + ec.message());
        }
    }

    awaitable<void> read_stream(std::shared_ptr<Session> session) {
        UpdateStreamChecker checker(session->info.width, session->info.height);
        beast::flat_buffer buffer;
        for (;;) {
            auto [ec, n] = co_await session->ws.async_read(buffer, asio::as_tuple(use_awaitable));
            if (ec) {
                if (!finished_) {
                    ++closed_early_;
                    note_error("stream ended: " + ec.message());
                }
                co_return;
            }
            ++messages_;
            bytes_ += n;
            if (!checker.feed(static_cast<const std::uint8_t*>(buffer.data().data()), n)) {
                ++framing_errors_;
                note_error(std::string("framing lost: ") + checker.error());
                co_return;
            }
            updates_ = checker.updates();
            buffer.consume(n);
        }
    }

    // A PointerEvent (6 bytes, masked by Beast's client role) now and then, as
    // a user's mouse does: the small-message upstream direction.
    awaitable<void> send_input(std::shared_ptr<Session> session) {
        asio::steady_timer pace(io_);
        std::uint8_t event[6] = {5, 0, 0, 0, 0, 0};
        for (std::uint16_t i = 0;; ++i) {
            pace.expires_after(std::chrono::milliseconds(options_.input_ms));
            co_await pace.async_wait(use_awaitable);
            put_u16(event + 2, static_cast<std::uint16_t>(i % session->info.width));
            put_u16(event + 4, static_cast<std::uint16_t>(i % session->info.height));
            auto [ec, n] = co_await session->ws.async_write(asio::buffer(event), asio::as_tuple(use_awaitable));
            (void)n;
            if (ec) {
                co_return;
            }
            ++inputs_;
        }
    }

    awaitable<void> watch_idle(std::shared_ptr<Session> session) {
        beast::flat_buffer buffer;
        auto [ec, n] = co_await session->ws.async_read(buffer, asio::as_tuple(use_awaitable));
        (void)n;
        if (!finished_) {
            ++closed_early_;
            note_error(ec ? "idle session ended: " + ec.message() : "unexpected data on an idle session");
        }
    }

    asio::io_context& io_;
    Options options_;
    asio::steady_timer timer_;
    Clock::time_point started_;
    unsigned next_ = 0;
    std::uint64_t connected_ = 0, failed_ = 0, closed_early_ = 0, framing_errors_ = 0;
    std::uint64_t bytes_ = 0, messages_ = 0, updates_ = 0, inputs_ = 0;
    std::string first_error_;
    std::list<std::shared_ptr<Session>> sessions_;
    bool finished_ = false;
    bool measured_ = false;
};

awaitable<void> probe(asio::io_context& io, const Options& options, int& exit_code) {
    const auto start = Clock::now();
    const auto deadline = start + seconds_to_duration(options.wait);
    std::string last_error;
    for (unsigned attempt = 1;; ++attempt) {
        Session session(io);
        try {
            Options once = options;
            once.handshake_timeout = 2;
            co_await open_session(session, once);
            emit_line("{\"event\":\"probe\",\"ok\":true,\"attempts\":" + std::to_string(attempt) + ",\"ms\":" +
                      fixed(std::chrono::duration<double, std::milli>(Clock::now() - start).count(), 1) + "}");
            exit_code = 0;
            co_return;
        } catch (const std::exception& e) {
            last_error = e.what();
        }
        if (Clock::now() + std::chrono::milliseconds(100) >= deadline) {
            emit_line("{\"event\":\"probe\",\"ok\":false,\"attempts\":" + std::to_string(attempt) + "}");
            std::cerr << "rfb-ws-load-client: probe failed: " << last_error << '\n';
            co_return;
        }
        asio::steady_timer pause(io, std::chrono::milliseconds(100));
        co_await pause.async_wait(use_awaitable);
    }
}

int run(int argc, char** argv) {
    namespace po = boost::program_options;
    Options options;
    std::string connect_text;
    std::string mode_text = "throughput";
    po::options_description description("rfb-ws-load-client options");
    description.add_options()
        ("help,h", "show this help")
        ("connect", po::value(&connect_text)->required(), "HOST:PORT of the WebSocket proxy (numeric)")
        ("path", po::value(&options.path)->default_value(options.path), "request target of the upgrade")
        ("mode", po::value(&mode_text)->default_value(mode_text), "throughput | idle | stalled | probe")
        ("sessions", po::value(&options.sessions)->default_value(options.sessions), "number of sessions")
        ("seconds", po::value(&options.seconds)->default_value(options.seconds), "throughput: measuring time")
        ("concurrency", po::value(&options.concurrency)->default_value(options.concurrency), "handshakes in flight")
        ("hold", po::value(&options.hold)->default_value(options.hold), "idle/stalled: hold at most this long")
        ("wait", po::value(&options.wait)->default_value(options.wait), "probe: retry for this many seconds")
        ("input-ms", po::value(&options.input_ms)->default_value(options.input_ms), "throughput: PointerEvent period (0: none)")
        ("rcvbuf", po::value(&options.rcvbuf)->default_value(options.rcvbuf), "SO_RCVBUF per session (0: default)");
    po::variables_map vm;
    po::store(po::parse_command_line(argc, argv, description), vm);
    if (vm.count("help")) {
        std::cout << description << '\n';
        return 0;
    }
    po::notify(vm);
    if (mode_text == "throughput") {
        options.mode = Mode::throughput;
    } else if (mode_text == "idle") {
        options.mode = Mode::idle;
    } else if (mode_text == "stalled") {
        options.mode = Mode::stalled;
    } else if (mode_text == "probe") {
        options.mode = Mode::probe;
    } else {
        throw std::invalid_argument("unknown --mode '" + mode_text + "'");
    }
    if (options.sessions == 0 || options.seconds <= 0) {
        throw std::invalid_argument("--sessions and --seconds must be > 0");
    }
    options.target = parse_endpoint(connect_text);
    ::signal(SIGPIPE, SIG_IGN);
    if (raise_nofile_limit() < options.sessions + 16) {
        throw std::runtime_error("RLIMIT_NOFILE is too low for " + std::to_string(options.sessions) + " sessions");
    }
    asio::io_context io(1);
    if (options.mode == Mode::probe) {
        int exit_code = 1;
        asio::co_spawn(io, probe(io, options, exit_code), asio::detached);
        io.run();
        return exit_code;
    }
    LoadClient client(io, options);
    asio::signal_set stop_signals(io, SIGTERM, SIGINT);
    stop_signals.async_wait([&](const boost::system::error_code& ec, int) {
        if (!ec) {
            client.finish("signal");
        }
    });
    client.start();
    io.run();
    return client.exit_code();
}

}  // namespace
}  // namespace vhm::bench

int main(int argc, char** argv) {
    try {
        return vhm::bench::run(argc, argv);
    } catch (const std::exception& e) {
        std::cerr << "rfb-ws-load-client: " << e.what() << '\n';
        return 2;
    }
}
