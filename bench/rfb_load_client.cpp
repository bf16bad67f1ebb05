// rfb-load-client: the VNC viewer side of the benchmark.
//
// Opens N sessions to HOST:PORT (the bench server directly, or a proxy in
// front of it), completes the RFB 3.8 handshake with security None on each,
// and then, by --mode:
//   throughput: asks for updates and reads as fast as it can for --seconds
//               (timed from when every session is up); prints bytes/s. The
//               stream's framing is checked (update_stream_checker.hpp: Raw,
//               Hextile, Tight, ZRLE) and its updates counted.
//   idle:       asks for nothing and reads nothing; keeps a 1-byte read
//               pending only to notice a session the path closed.
//   stalled:    once every session is up, asks for updates on all of them,
//               then never reads: the path must buffer or apply backpressure.
//               (Asking only after all handshakes keeps the late handshakes
//               from queueing behind gigabytes of early streams.)
//   probe:      retries connect+handshake until one succeeds or --wait
//               expires: readiness check for a freshly started proxy.
//   latency:    --count handshakes one after the other (connect to ServerInit,
//               then close), timed each; prints the first, p50, p90, p99.
//   throughput --defer: all sessions handshake, print "ready" and wait
//               for SIGUSR1; then they ask for updates and are measured.
//   rate:       --sessions connectors, each doing connect+handshake+close in
//               a loop for --seconds; prints handshakes per second.
// --security picks None, VncAuth or VeNCrypt with TLS (bench_security.hpp).
// Result lines carry the process's own CPU time (cpu_s), so a run can show
// how much of the machine the load generator took.
// idle/stalled print a "ready" line once all sessions are up, then hold them
// until SIGTERM/SIGINT (or --hold expires) and print a "done" line.
// All output is one JSON object per line on stdout; exit status 0 means every
// session worked as the mode expects.
#include "bench_common.hpp"
#include "bench_security.hpp"
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
#include <array>
#include <cmath>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <list>
#include <memory>
#include <stdexcept>
#include <string>
#include <variant>
#include <vector>

namespace vhm::bench {
namespace {

namespace asio = boost::asio;
using asio::awaitable;
using asio::use_awaitable;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;
using namespace asio::experimental::awaitable_operators;

enum class Mode { throughput, idle, stalled, probe, latency, rate };

struct ClientOptions {
    tcp::endpoint target;
    Mode mode = Mode::throughput;
    unsigned sessions = 1;
    unsigned concurrency = 64;
    double seconds = 5.0;
    double handshake_timeout = 15.0;
    double hold = 600.0;
    double wait = 10.0;
    std::size_t read_buffer = 256 * 1024;
    int rcvbuf = 0;  // SO_RCVBUF per session; 0 = kernel default (autotuning)
    double rate = 0;  // throughput: MB/s per session at most (a viewer on a real link); 0 = as fast as possible
    std::string encoding = "raw";  // what SetEncodings asks for (the bench server sends its own anyway)
    Security security = Security::none;
    unsigned count = 1000;  // latency: handshakes
    bool defer = false;     // throughput: hold the sessions until SIGUSR1, then stream
};

// This process's user+system CPU seconds so far.
double cpu_seconds() {
    rusage usage{};
    ::getrusage(RUSAGE_SELF, &usage);
    auto seconds = [](const timeval& t) { return static_cast<double>(t.tv_sec) + t.tv_usec / 1e6; };
    return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

struct ServerInitInfo {
    std::uint16_t width = 0;
    std::uint16_t height = 0;
};

struct Totals {
    std::uint64_t connected = 0;
    std::uint64_t failed = 0;
    std::uint64_t closed_early = 0;
    std::uint64_t framing_errors = 0;
    std::uint64_t bytes = 0;
    std::uint64_t updates = 0;
    std::uint64_t rects = 0;
    std::string first_error;

    void note_error(const std::string& why) {
        if (first_error.empty()) {
            first_error = why;
        }
    }
};

std::chrono::steady_clock::duration seconds_to_duration(double seconds) {
    return std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
}

std::string json_string(const std::string& text) {
    std::string out = "\"";
    for (const char c : text) {
        if (c == '"' || c == '\\') {
            out += '\\';
            out += c;
        } else if (static_cast<unsigned char>(c) < 0x20) {
            char escaped[8];
            std::snprintf(escaped, sizeof escaped, "\\u%04x", static_cast<unsigned>(c));
            out += escaped;
        } else {
            out += c;
        }
    }
    return out + "\"";
}

std::string fixed(double value, int decimals) {
    char text[64];
    std::snprintf(text, sizeof text, "%.*f", decimals, value);
    return text;
}

const char* mode_name(Mode mode) {
    switch (mode) {
    case Mode::throughput: return "throughput";
    case Mode::idle: return "idle";
    case Mode::stalled: return "stalled";
    case Mode::probe: return "probe";
    case Mode::latency: return "latency";
    case Mode::rate: return "rate";
    }
    return "?";
}

// The viewer's half of VeNCrypt 0.2 up to the TLS handshake's end.
awaitable<void> vencrypt_handshake(Connection& connection, Security security, ssl::context& tls_context) {
    std::uint8_t version[2];
    co_await connection.read_exactly(asio::buffer(version));
    if (version[0] != 0 || version[1] != 2) {
        throw std::runtime_error("server does not offer VeNCrypt 0.2");
    }
    co_await connection.write_all(asio::buffer(version));
    std::uint8_t ack_and_count[2];
    co_await connection.read_exactly(asio::buffer(ack_and_count));
    if (ack_and_count[0] != 0 || ack_and_count[1] == 0) {
        throw std::runtime_error("server refused VeNCrypt 0.2 or offered no subtypes");
    }
    std::vector<std::uint8_t> subtypes(std::size_t{ack_and_count[1]} * 4);
    co_await connection.read_exactly(asio::buffer(subtypes));
    const std::uint32_t wanted = vencrypt_subtype(security);
    bool offered = false;
    for (std::size_t i = 0; i < subtypes.size(); i += 4) {
        offered = offered || get_u32(subtypes.data() + i) == wanted;
    }
    if (!offered) {
        throw std::runtime_error(std::string("server does not offer VeNCrypt ") + security_name(security));
    }
    std::uint8_t choice[4];
    put_u32(choice, wanted);
    co_await connection.write_all(asio::buffer(choice));
    std::uint8_t ack = 0;
    co_await connection.read_exactly(asio::buffer(&ack, 1));
    if (ack != 1) {
        throw std::runtime_error("server refused the VeNCrypt subtype");
    }
    co_await connection.start_tls(tls_context, ssl::stream_base::client);
}

// The viewer's half of RFB 3.8 with the chosen security. Throws on anything else.
awaitable<ServerInitInfo> rfb_handshake(Connection& connection, Security security, ssl::context* tls_context) {
    auto fail = [](const char* why) { return std::runtime_error(why); };
    char version[version_size];
    co_await connection.read_exactly(asio::buffer(version));
    if (std::memcmp(version, "RFB 003.008\n", version_size) != 0) {
        throw fail("server does not offer RFB 003.008");
    }
    co_await connection.write_all(asio::buffer(version));
    std::uint8_t count = 0;
    co_await connection.read_exactly(asio::buffer(&count, 1));
    if (count == 0) {
        throw fail("server refused the connection (security type count 0)");
    }
    std::uint8_t types[255];
    co_await connection.read_exactly(asio::buffer(types, count));
    const std::uint8_t wanted = security_type(security);
    if (std::find(types, types + count, wanted) == types + count) {
        throw fail("server does not offer the security type asked for (--security)");
    }
    co_await connection.write_all(asio::buffer(&wanted, 1));
    if (security == Security::vnc) {
        std::uint8_t challenge[16];
        co_await connection.read_exactly(asio::buffer(challenge));
        co_await connection.write_all(asio::buffer(challenge));  // the bench server accepts any response
    } else if (uses_tls(security)) {
        co_await vencrypt_handshake(connection, security, *tls_context);
    }
    std::uint8_t result[4];
    co_await connection.read_exactly(asio::buffer(result));
    if (get_u32(result) != 0) {
        throw fail("SecurityResult is not OK");
    }
    const std::uint8_t shared = 1;
    co_await connection.write_all(asio::buffer(&shared, 1));
    std::uint8_t init[server_init_fixed_size];
    co_await connection.read_exactly(asio::buffer(init));
    const std::uint32_t name_length = get_u32(init + 20);
    if (name_length > 4096) {
        throw fail("ServerInit name too long");
    }
    std::vector<std::uint8_t> name(name_length);
    co_await connection.read_exactly(asio::buffer(name));
    if (init[4] != 32) {
        throw fail("ServerInit is not 32 bits per pixel");
    }
    co_return ServerInitInfo{get_u16(init), get_u16(init + 2)};
}

// Returns an empty string on success, else why it failed; never throws, so it
// can race a timer with || (which waits for the loser if the winner throws).
awaitable<std::string> connect_and_handshake(Connection& connection, const ClientOptions& options,
                                             ssl::context* tls_context, ServerInitInfo& info) {
    try {
        tcp::socket& socket = connection.socket;
        if (options.rcvbuf > 0) {
            // Before connect, so the advertised window scale matches.
            socket.open(options.target.protocol());
            socket.set_option(asio::socket_base::receive_buffer_size(options.rcvbuf));
        }
        co_await socket.async_connect(options.target, use_awaitable);
        socket.set_option(tcp::no_delay(true));
        info = co_await rfb_handshake(connection, options.security, tls_context);
        co_return std::string();
    } catch (const std::exception& e) {
        co_return std::string(e.what());
    }
}

awaitable<std::string> handshake_with_timeout(Connection& connection, const ClientOptions& options,
                                              ssl::context* tls_context, ServerInitInfo& info,
                                              Clock::duration timeout) {
    asio::steady_timer timer(connection.socket.get_executor(), timeout);
    auto outcome = co_await (connect_and_handshake(connection, options, tls_context, info) ||
                             timer.async_wait(use_awaitable));
    if (outcome.index() == 1) {
        co_return std::string("connect/handshake timed out");
    }
    co_return std::get<0>(outcome);
}

// What a viewer preferring `encoding` lists in SetEncodings: it first, Raw
// as the fallback; Tight with a JPEG quality level (6) and compression level
// (6), as TigerVNC's viewer sends them. Raw alone for raw.
std::vector<std::int32_t> encoding_list(const std::string& encoding) {
    if (encoding == "raw") {
        return {0};
    }
    if (encoding == "hextile") {
        return {5, 0};
    }
    if (encoding == "tight") {
        return {7, 0, -32 + 6, -256 + 6};
    }
    if (encoding == "zrle") {
        return {16, 0};
    }
    throw std::invalid_argument("unknown --encoding '" + encoding + "' (raw, hextile, tight, zrle)");
}

// SetEncodings + a full-screen non-incremental FramebufferUpdateRequest.
std::vector<std::uint8_t> update_request(const ServerInitInfo& info, const std::string& encoding) {
    const auto encodings = encoding_list(encoding);
    std::vector<std::uint8_t> message(4 + 4 * encodings.size() + 10);
    message[0] = 2;
    put_u16(message.data() + 2, static_cast<std::uint16_t>(encodings.size()));
    std::uint8_t* p = message.data() + 4;
    for (const std::int32_t e : encodings) {
        put_u32(p, static_cast<std::uint32_t>(e));
        p += 4;
    }
    p[0] = 3;
    p[1] = 0;
    put_u16(p + 6, info.width);
    put_u16(p + 8, info.height);
    return message;
}

class LoadClient {
public:
    LoadClient(asio::io_context& io, ClientOptions options)
        : io_(io),
          options_(options),
          tls_context_(client_tls_context(options_.security)),
          hold_timer_(io),
          start_signal_(io, SIGUSR1) {}

    void start() {
        started_ = Clock::now();
        const unsigned workers = std::max(1u, std::min(options_.concurrency, options_.sessions));
        for (unsigned i = 0; i < workers; ++i) {
            asio::co_spawn(io_, worker(), [this](std::exception_ptr error) { log_unexpected(error); });
        }
    }

    // Signal or hold expiry: report and stop.
    void finish(const char* why) {
        if (finished_) {
            return;
        }
        finished_ = true;
        if (options_.mode == Mode::throughput) {
            emit_line("{\"event\":\"result\",\"mode\":\"throughput\",\"ok\":false,\"reason\":" + json_string(why) +
                      totals_fields() + "}");
        } else {
            emit_line(std::string("{\"event\":\"done\",\"mode\":\"") + mode_name(options_.mode) +
                      "\",\"ok\":" + (healthy() ? "true" : "false") + ",\"reason\":" + json_string(why) +
                      totals_fields() + "}");
        }
        io_.stop();
    }

    int exit_code() const { return finished_ && healthy() && measured_ ? 0 : 1; }

private:
    bool healthy() const {
        return totals_.failed == 0 && totals_.closed_early == 0 && totals_.framing_errors == 0 &&
               totals_.connected == options_.sessions;
    }

    std::string totals_fields() const {
        return ",\"sessions\":" + std::to_string(options_.sessions) + ",\"connected\":" +
               std::to_string(totals_.connected) + ",\"failed\":" + std::to_string(totals_.failed) +
               ",\"closed_early\":" + std::to_string(totals_.closed_early) + ",\"framing_errors\":" +
               std::to_string(totals_.framing_errors) + ",\"cpu_s\":" + fixed(cpu_seconds(), 3) +
               ",\"first_error\":" + json_string(totals_.first_error);
    }

    void log_unexpected(std::exception_ptr error) {
        if (!error) {
            return;
        }
        try {
            std::rethrow_exception(error);
        } catch (const std::exception& e) {
            std::cerr << "rfb-load-client: " << e.what() << '\n';
            totals_.note_error(e.what());
            ++totals_.failed;
        }
    }

    // Workers bound the number of handshakes in flight so 1000 sessions do not
    // arrive as one SYN burst that overflows a proxy's accept backlog.
    awaitable<void> worker() {
        while (next_session_ < options_.sessions) {
            ++next_session_;
            auto connection = std::make_unique<Connection>(tcp::socket(io_));
            ServerInitInfo info;
            std::string error = co_await handshake_with_timeout(*connection, options_, tls_context(), info,
                                                                seconds_to_duration(options_.handshake_timeout));
            if (error.empty()) {
                try {
                    co_await start_session(std::move(connection), info);
                } catch (const std::exception& e) {
                    error = std::string("sending the update request: ") + e.what();
                }
            }
            if (error.empty()) {
                ++totals_.connected;
            } else {
                ++totals_.failed;
                totals_.note_error(error);
            }
            if (totals_.connected + totals_.failed == options_.sessions) {
                all_sessions_up();
            }
        }
    }

    ssl::context* tls_context() { return tls_context_ ? &*tls_context_ : nullptr; }

    awaitable<void> start_session(std::unique_ptr<Connection> connection, ServerInitInfo info) {
        auto on_end = [this](std::exception_ptr error) { log_unexpected(error); };
        switch (options_.mode) {
        case Mode::throughput:
            if (options_.defer) {
                held_.push_back(HeldSession{std::move(connection), info});
                break;
            }
            co_await connection->write_all(asio::buffer(update_request(info, options_.encoding)));
            asio::co_spawn(io_, read_stream(std::move(connection), info), on_end);
            break;
        case Mode::idle:
            asio::co_spawn(io_, watch_idle(std::move(connection)), on_end);
            break;
        case Mode::stalled:
            held_.push_back(HeldSession{std::move(connection), info});  // never read from
            break;
        default:
            break;
        }
    }

    void all_sessions_up() {
        const double handshake_ms =
            std::chrono::duration<double, std::milli>(Clock::now() - started_).count();
        if (totals_.failed > 0) {
            finish("some sessions failed to connect or complete the handshake");
            return;
        }
        if (options_.mode == Mode::throughput && options_.defer) {
            emit_line(std::string("{\"event\":\"ready\",\"mode\":\"throughput\",\"handshake_ms\":") +
                      fixed(handshake_ms, 1) + totals_fields() + "}");
            start_signal_.async_wait([this, handshake_ms](const boost::system::error_code& ec, int) {
                if (ec || finished_) {
                    return;
                }
                for (auto& held : held_) {
                    asio::co_spawn(io_, request_and_read(std::move(held.connection), held.info),
                                   [this](std::exception_ptr error) { log_unexpected(error); });
                }
                held_.clear();
                start_measuring(handshake_ms);
            });
            return;
        }
        if (options_.mode == Mode::throughput) {
            start_measuring(handshake_ms);
            return;
        }
        if (options_.mode == Mode::stalled) {
            request_updates_on_held_sessions();
        }
        measured_ = true;
        emit_line(std::string("{\"event\":\"ready\",\"mode\":\"") + mode_name(options_.mode) +
                  "\",\"handshake_ms\":" + fixed(handshake_ms, 1) + totals_fields() + "}");
        hold_timer_.expires_after(seconds_to_duration(options_.hold));
        hold_timer_.async_wait([this](const boost::system::error_code& ec) {
            if (!ec) {
                finish("--hold expired");
            }
        });
    }

    awaitable<void> request_and_read(std::unique_ptr<Connection> connection, ServerInitInfo info) {
        co_await connection->write_all(asio::buffer(update_request(info, options_.encoding)));
        co_await read_stream(std::move(connection), info);
    }

    // Throughput: bytes read from now for --seconds, then the result line.
    void start_measuring(double handshake_ms) {
        {
            const auto t0 = Clock::now();
            const std::uint64_t b0 = totals_.bytes;
            hold_timer_.expires_after(seconds_to_duration(options_.seconds));
            hold_timer_.async_wait([this, t0, b0, handshake_ms](const boost::system::error_code& ec) {
                if (ec || finished_) {
                    return;
                }
                const double elapsed = std::chrono::duration<double>(Clock::now() - t0).count();
                const std::uint64_t bytes = totals_.bytes - b0;
                finished_ = true;
                measured_ = true;
                emit_line(std::string("{\"event\":\"result\",\"mode\":\"throughput\",\"ok\":") +
                          (healthy() ? "true" : "false") + ",\"seconds\":" + fixed(elapsed, 3) +
                          ",\"bytes\":" + std::to_string(bytes) + ",\"mb_per_s\":" +
                          fixed(static_cast<double>(bytes) / elapsed / 1e6, 1) +
                          ",\"updates\":" + std::to_string(totals_.updates) +
                          ",\"rects\":" + std::to_string(totals_.rects) +
                          ",\"handshake_ms\":" + fixed(handshake_ms, 1) + totals_fields() + "}");
                io_.stop();
            });
        }
    }

    // 18 bytes on an idle socket: a blocking write returns at once. Plain
    // sessions only (stalled mode with TLS is refused at start).
    void request_updates_on_held_sessions() {
        for (auto& held : held_) {
            boost::system::error_code ec;
            asio::write(held.connection->socket, asio::buffer(update_request(held.info, options_.encoding)), ec);
            if (ec) {
                ++totals_.closed_early;
                totals_.note_error("sending the update request: " + ec.message());
            }
        }
    }

    awaitable<void> read_stream(std::unique_ptr<Connection> connection, ServerInitInfo info) {
        std::vector<std::uint8_t> buffer(options_.read_buffer);
        UpdateStreamChecker checker(info.width, info.height);
        std::uint64_t counted_updates = 0;
        std::uint64_t counted_rects = 0;
        // --rate: read no faster than a link of that speed would deliver; TCP's
        // flow control then slows the server (and whatever is in between) to it.
        const auto started = Clock::now();
        std::uint64_t received = 0;
        asio::steady_timer pace(connection->socket.get_executor());
        for (;;) {
            if (options_.rate > 0) {
                const auto due = started + std::chrono::duration_cast<Clock::duration>(
                                               std::chrono::duration<double>(received / (options_.rate * 1e6)));
                if (due > Clock::now()) {
                    pace.expires_at(due);
                    co_await pace.async_wait(asio::as_tuple(use_awaitable));
                }
            }
            auto [ec, n] = co_await connection->read_some(asio::buffer(buffer), asio::as_tuple(use_awaitable));
            received += n;
            if (ec) {
                ++totals_.closed_early;
                totals_.note_error("stream ended: " + ec.message());
                co_return;
            }
            totals_.bytes += n;
            if (!checker.feed(buffer.data(), n)) {
                ++totals_.framing_errors;
                totals_.note_error(std::string("FramebufferUpdate framing lost: ") + checker.error());
                co_return;
            }
            totals_.updates += checker.updates() - counted_updates;
            counted_updates = checker.updates();
            totals_.rects += checker.rects() - counted_rects;
            counted_rects = checker.rects();
        }
    }

    awaitable<void> watch_idle(std::unique_ptr<Connection> connection) {
        std::uint8_t byte = 0;
        auto [ec, n] =
            co_await connection->read_some(asio::buffer(&byte, 1), asio::as_tuple(use_awaitable));
        ++totals_.closed_early;
        totals_.note_error(ec ? "idle session ended: " + ec.message() : "unexpected data on an idle session");
        (void)n;
    }

    asio::io_context& io_;
    ClientOptions options_;
    std::optional<ssl::context> tls_context_;
    asio::steady_timer hold_timer_;
    asio::signal_set start_signal_;
    Clock::time_point started_;
    unsigned next_session_ = 0;
    Totals totals_;
    struct HeldSession {
        std::unique_ptr<Connection> connection;
        ServerInitInfo info;
    };
    std::list<HeldSession> held_;
    bool finished_ = false;
    bool measured_ = false;
};

// A free function rather than a lambda: a coroutine lambda's captures live in
// the closure, which would be gone before the coroutine finishes.
awaitable<void> probe(asio::io_context& io, const ClientOptions& options, int& exit_code) {
    auto tls_context = client_tls_context(options.security);
    const auto start = Clock::now();
    const auto deadline = start + seconds_to_duration(options.wait);
    std::string last_error;
    auto backoff = std::chrono::milliseconds(10);
    for (unsigned attempt = 1;; ++attempt) {
        Connection connection{tcp::socket(io)};
        ServerInitInfo info;
        const auto left = deadline - Clock::now();
        last_error = co_await handshake_with_timeout(connection, options, tls_context ? &*tls_context : nullptr, info,
                                                     std::min<Clock::duration>(left, std::chrono::seconds(2)));
        const double ms = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
        if (last_error.empty()) {
            emit_line("{\"event\":\"probe\",\"ok\":true,\"attempts\":" + std::to_string(attempt) +
                      ",\"ms\":" + fixed(ms, 1) + ",\"width\":" + std::to_string(info.width) +
                      ",\"height\":" + std::to_string(info.height) + "}");
            exit_code = 0;
            co_return;
        }
        if (Clock::now() + backoff >= deadline) {
            emit_line("{\"event\":\"probe\",\"ok\":false,\"attempts\":" + std::to_string(attempt) +
                      ",\"ms\":" + fixed(ms, 1) + ",\"first_error\":" + json_string(last_error) + "}");
            co_return;
        }
        asio::steady_timer pause(io, backoff);
        co_await pause.async_wait(use_awaitable);
        backoff = std::min(backoff * 2, std::chrono::milliseconds(200));
    }
}

// Nearest-rank percentile of sorted values (q in (0, 1]).
double percentile(const std::vector<double>& sorted, double q) {
    if (sorted.empty()) {
        return 0;
    }
    const auto rank = static_cast<std::size_t>(std::ceil(q * static_cast<double>(sorted.size())));
    return sorted[std::min(sorted.size(), std::max<std::size_t>(rank, 1)) - 1];
}

// Handshake times and failures of the latency and rate modes.
struct HandshakeSamples {
    std::vector<double> ms;
    double first_ms = -1;
    unsigned failed = 0;
    std::string first_error;

    void fail(const std::string& why) {
        ++failed;
        if (first_error.empty()) {
            first_error = why;
        }
    }

    // ok, count, failed, percentiles (ms), cpu_s, first_error as JSON fields.
    std::string fields() {
        std::sort(ms.begin(), ms.end());
        double sum = 0;
        for (const double v : ms) {
            sum += v;
        }
        return std::string(",\"ok\":") + (failed == 0 && !ms.empty() ? "true" : "false") +
               ",\"count\":" + std::to_string(ms.size()) + ",\"failed\":" + std::to_string(failed) +
               ",\"first_ms\":" + fixed(first_ms, 3) + ",\"p50_ms\":" + fixed(percentile(ms, 0.5), 3) +
               ",\"p90_ms\":" + fixed(percentile(ms, 0.9), 3) + ",\"p99_ms\":" + fixed(percentile(ms, 0.99), 3) +
               ",\"max_ms\":" + fixed(ms.empty() ? 0 : ms.back(), 3) +
               ",\"mean_ms\":" + fixed(ms.empty() ? 0 : sum / static_cast<double>(ms.size()), 3) +
               ",\"cpu_s\":" + fixed(cpu_seconds(), 3) + ",\"first_error\":" + json_string(first_error);
    }
};

// One connect + handshake + close, timed from before connect to the last
// byte of ServerInit. Returns the milliseconds, or a negative value on failure.
awaitable<double> timed_handshake(asio::io_context& io, const ClientOptions& options, ssl::context* tls_context,
                                  HandshakeSamples& samples) {
    Connection connection{tcp::socket(io)};
    ServerInitInfo info;
    const auto t0 = Clock::now();
    std::string error = co_await handshake_with_timeout(connection, options, tls_context, info,
                                                        seconds_to_duration(options.handshake_timeout));
    const double ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
    boost::system::error_code ignored;
    connection.socket.close(ignored);
    if (!error.empty()) {
        samples.fail(error);
        co_return -1.0;
    }
    co_return ms;
}

// latency: --count handshakes, strictly one after the other.
awaitable<void> measure_latency(asio::io_context& io, const ClientOptions& options, int& exit_code) {
    auto tls_context = client_tls_context(options.security);
    HandshakeSamples samples;
    samples.ms.reserve(options.count);
    const auto started = Clock::now();
    for (unsigned i = 0; i < options.count; ++i) {
        const double ms = co_await timed_handshake(io, options, tls_context ? &*tls_context : nullptr, samples);
        if (i == 0) {
            samples.first_ms = ms;
        }
        if (ms >= 0) {
            samples.ms.push_back(ms);
        }
    }
    const double seconds = std::chrono::duration<double>(Clock::now() - started).count();
    const bool ok = samples.failed == 0;
    emit_line("{\"event\":\"result\",\"mode\":\"latency\",\"security\":\"" +
              std::string(security_name(options.security)) + "\",\"seconds\":" + fixed(seconds, 3) + samples.fields() +
              "}");
    exit_code = ok ? 0 : 1;
}

// rate: one connector's loop; handshakes finishing after the deadline are not counted.
awaitable<void> rate_connector(asio::io_context& io, const ClientOptions& options, ssl::context* tls_context,
                               Clock::time_point deadline, HandshakeSamples& samples) {
    while (Clock::now() < deadline) {
        const double ms = co_await timed_handshake(io, options, tls_context, samples);
        if (Clock::now() > deadline) {
            break;
        }
        if (ms >= 0) {
            samples.ms.push_back(ms);
        } else {
            asio::steady_timer pause(io, std::chrono::milliseconds(10));  // no busy loop on a refusing path
            co_await pause.async_wait(asio::as_tuple(use_awaitable));
        }
    }
}

int run_rate(const ClientOptions& options) {
    asio::io_context io(1);
    auto tls_context = client_tls_context(options.security);
    HandshakeSamples samples;
    const auto started = Clock::now();
    const auto deadline = started + seconds_to_duration(options.seconds);
    for (unsigned i = 0; i < options.sessions; ++i) {
        asio::co_spawn(io, rate_connector(io, options, tls_context ? &*tls_context : nullptr, deadline, samples),
                       [&samples](std::exception_ptr error) {
                           if (error) {
                               samples.fail("connector ended by an exception");
                           }
                       });
    }
    io.run();
    const double seconds = std::chrono::duration<double>(deadline - started).count();
    const auto done = samples.ms.size();
    emit_line("{\"event\":\"result\",\"mode\":\"rate\",\"security\":\"" +
              std::string(security_name(options.security)) + "\",\"connectors\":" + std::to_string(options.sessions) +
              ",\"seconds\":" + fixed(seconds, 3) +
              ",\"handshakes_per_s\":" + fixed(static_cast<double>(done) / seconds, 1) + samples.fields() + "}");
    return samples.failed == 0 && done > 0 ? 0 : 1;
}

int run_latency(const ClientOptions& options) {
    asio::io_context io(1);
    int exit_code = 1;
    asio::co_spawn(io, measure_latency(io, options, exit_code), [](std::exception_ptr error) {
        if (error) {
            std::rethrow_exception(error);
        }
    });
    io.run();
    return exit_code;
}

int run_probe(const ClientOptions& options) {
    asio::io_context io(1);
    int exit_code = 1;
    asio::co_spawn(io, probe(io, options, exit_code), [](std::exception_ptr error) {
        if (error) {
            std::rethrow_exception(error);
        }
    });
    io.run();
    return exit_code;
}

int run(int argc, char** argv) {
    namespace po = boost::program_options;
    ClientOptions options;
    std::string connect_text;
    std::string mode_text = "throughput";
    std::string security_text = "none";
    po::options_description description("rfb-load-client options");
    description.add_options()
        ("help,h", "show this help")
        ("connect", po::value(&connect_text)->required(), "HOST:PORT of the server or proxy (numeric)")
        ("mode", po::value(&mode_text)->default_value(mode_text), "throughput | idle | stalled | probe | latency | rate")
        ("sessions", po::value(&options.sessions)->default_value(options.sessions), "number of sessions (rate: connectors)")
        ("seconds", po::value(&options.seconds)->default_value(options.seconds), "throughput, rate: measuring time")
        ("defer", po::bool_switch(&options.defer), "throughput: after the handshakes print \"ready\", stream only after SIGUSR1")
        ("count", po::value(&options.count)->default_value(options.count), "latency: handshakes, one after the other")
        ("security", po::value(&security_text)->default_value(security_text), "none | vnc | tls-none | x509-none (VeNCrypt with TLS)")
        ("concurrency", po::value(&options.concurrency)->default_value(options.concurrency), "handshakes in flight at once")
        ("handshake-timeout", po::value(&options.handshake_timeout)->default_value(options.handshake_timeout), "seconds per connect+handshake")
        ("hold", po::value(&options.hold)->default_value(options.hold), "idle/stalled: give up holding after this many seconds")
        ("wait", po::value(&options.wait)->default_value(options.wait), "probe: keep retrying for this many seconds")
        ("read-buffer", po::value(&options.read_buffer)->default_value(options.read_buffer), "throughput: bytes per read")
        ("rcvbuf", po::value(&options.rcvbuf)->default_value(options.rcvbuf), "SO_RCVBUF per session in bytes (0: kernel default)")
        ("rate", po::value(&options.rate)->default_value(options.rate), "throughput: at most this many MB/s per session (0: no limit)")
        ("encoding", po::value(&options.encoding)->default_value(options.encoding), "raw | hextile | tight | zrle: the encoding SetEncodings prefers (any of them is framed)");
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
    } else if (mode_text == "latency") {
        options.mode = Mode::latency;
    } else if (mode_text == "rate") {
        options.mode = Mode::rate;
    } else {
        throw std::invalid_argument("unknown --mode '" + mode_text + "'");
    }
    if (options.sessions == 0 || options.seconds <= 0 || options.read_buffer == 0 || options.count == 0) {
        throw std::invalid_argument("--sessions, --seconds, --count and --read-buffer must be > 0");
    }
    options.security = parse_security(security_text);
    if (options.mode == Mode::stalled && uses_tls(options.security)) {
        throw std::invalid_argument("--mode stalled speaks plain RFB only");
    }
    encoding_list(options.encoding);  // rejects an unknown name before connecting
    options.target = parse_endpoint(connect_text);
    ::signal(SIGPIPE, SIG_IGN);
    const rlim_t fd_limit = raise_nofile_limit();
    if (fd_limit < options.sessions + 16) {
        throw std::runtime_error("RLIMIT_NOFILE " + std::to_string(fd_limit) + " is too low for " +
                                 std::to_string(options.sessions) + " sessions");
    }
    if (options.mode == Mode::probe) {
        return run_probe(options);
    }
    if (options.mode == Mode::latency) {
        return run_latency(options);
    }
    if (options.mode == Mode::rate) {
        return run_rate(options);
    }

    asio::io_context io(1);
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
        std::cerr << "rfb-load-client: " << e.what() << '\n';
        return 2;
    }
}
