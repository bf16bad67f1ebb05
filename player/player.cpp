#include "player/player.hpp"

#include "util/log.hpp"

#include <boost/asio/signal_set.hpp>

#include <cmath>
#include <csignal>
#include <iostream>
#include <memory>
#include <set>

#include "conf/address.hpp"
#include "player/asio.hpp"
#include "player/playable.hpp"
#include "player/viewer_session.hpp"
#include "util/printable.hpp"

namespace vhm::player {
namespace {

constexpr int exit_ok = 0;
constexpr int exit_error = 1;
constexpr int exit_usage = 2;
constexpr int exit_unplayable = 4;

const char* integrity_text(record::Integrity integrity) {
  switch (integrity) {
    case record::Integrity::complete: return "complete";
    case record::Integrity::truncated: return "truncated";
    case record::Integrity::corrupt: return "damaged";
    case record::Integrity::unreadable: return "unreadable";
  }
  return "?";
}

std::string host_port_text(const tcp::endpoint& endpoint) {
  const auto address = endpoint.address().to_string();
  return (endpoint.address().is_v6() ? "[" + address + "]" : address) + ":" + std::to_string(endpoint.port());
}

// The accept loop, the viewers, and the ways to stop: a signal, or the
// max_viewers-th viewer accepted (then the player ends once they all left).
class PlayerServer {
 public:
  PlayerServer(asio::io_context& io, tcp::acceptor acceptor, const PlaybackSettings& settings,
               std::optional<std::size_t> max_viewers)
      : io_(io), acceptor_(std::move(acceptor)), signals_(io, SIGINT, SIGTERM), settings_(settings),
        max_viewers_(max_viewers) {}

  void start() {
    signals_.async_wait([this](const boost::system::error_code& error, int signal_number) {
      if (error) return;
      stop(signal_number == SIGINT ? "SIGINT" : "SIGTERM");
    });
    asio::co_spawn(io_, accept_loop(), [](std::exception_ptr error) {
      if (!error) return;
      try {
        std::rethrow_exception(error);
      } catch (const std::exception& e) {
        spdlog::error("player: accept loop failed: {}", e.what());
      }
    });
  }

 private:
  awaitable<void> accept_loop() {
    std::size_t accepted = 0;
    while (!stopping_ && (!max_viewers_ || accepted < *max_viewers_)) {
      auto [error, socket] = co_await acceptor_.async_accept(use_tuple);
      if (error) {
        if (stopping_ || error == asio::error::operation_aborted) break;
        spdlog::warn("player: accept failed: {}", error.message());  // e.g. out of descriptors: keep going
        asio::steady_timer pause(io_, std::chrono::milliseconds(100));
        co_await pause.async_wait(use_tuple);
        continue;
      }
      ++accepted;
      asio::co_spawn(io_, serve(std::move(socket), this), [](std::exception_ptr error) {
        if (!error) return;
        try {
          std::rethrow_exception(error);
        } catch (const std::exception& e) {
          spdlog::error("player: viewer session failed: {}", e.what());
        }
      });
    }
    if (max_viewers_ && accepted >= *max_viewers_ && !stopping_)
      spdlog::info("player: {} viewer(s) accepted (--max-viewers); no more, ending when they leave", accepted);
    boost::system::error_code ignored;
    acceptor_.close(ignored);
    accepting_ = false;
    finish_if_idle();
  }

  // One viewer's coroutine: the session lives in this frame and is listed
  // while it runs, so a signal can end it.
  static awaitable<void> serve(tcp::socket socket, PlayerServer* server) {
    ViewerSession session(std::move(socket), server->settings_);
    server->sessions_.insert(&session);
    struct Unlist {
      PlayerServer* server;
      ViewerSession* session;
      ~Unlist() {
        server->sessions_.erase(session);
        server->finish_if_idle();
      }
    } unlist{server, &session};
    co_await session.run();
  }

  void stop(const char* why) {
    if (stopping_) return;
    stopping_ = true;
    spdlog::info("player: {} received; closing {} viewer connection(s)", why, sessions_.size());
    boost::system::error_code ignored;
    acceptor_.close(ignored);
    for (auto* session : sessions_) session->stop("the player is stopping");
  }

  // Nothing left to wait for: let io_context::run() return.
  void finish_if_idle() {
    if (!accepting_ && sessions_.empty()) signals_.cancel();
  }

  asio::io_context& io_;
  tcp::acceptor acceptor_;
  asio::signal_set signals_;
  const PlaybackSettings& settings_;
  std::optional<std::size_t> max_viewers_;
  std::set<ViewerSession*> sessions_;
  bool accepting_ = true;
  bool stopping_ = false;
};

std::optional<tcp::acceptor> open_acceptor(asio::io_context& io, const conf::HostPort& listen, std::string& error) {
  boost::system::error_code ec;
  const auto address = listen.host.empty() ? asio::ip::address(asio::ip::address_v6::any())
                                            : asio::ip::make_address(listen.host, ec);
  if (ec) {
    error = "bad listen address \"" + util::printable(listen.host) + "\": " + ec.message();
    return std::nullopt;
  }
  tcp::acceptor acceptor(io);
  tcp::endpoint endpoint(address, listen.port);
  acceptor.open(endpoint.protocol(), ec);
  if (ec && listen.host.empty()) {  // a host without IPv6: every IPv4 address
    endpoint = tcp::endpoint(asio::ip::address_v4::any(), listen.port);
    ec.clear();
    acceptor.open(endpoint.protocol(), ec);
  }
  if (!ec) acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec && endpoint.address().is_v6() && listen.host.empty()) acceptor.set_option(asio::ip::v6_only(false), ec);
  if (!ec) acceptor.bind(endpoint, ec);
  if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    error = "cannot listen on " + conf::format_host_port(listen) + ": " + ec.message();
    return std::nullopt;
  }
  return acceptor;
}

void log_recording(const Playable& playable) {
  const auto& header = playable.header;
  spdlog::info("recording {}: {}x{} \"{}\", {}, {:.1f} s, {} server bytes, {}", playable.path.string(),
               header.server_init.width, header.server_init.height, util::printable(header.server_init.desktop_name),
               record::describe(playable.pixel_format), static_cast<double>(playable.last_time_us) / 1e6,
               playable.server_bytes, integrity_text(playable.integrity));
  if (playable.integrity != record::Integrity::complete)
    spdlog::warn("recording {} is {} ({}): viewers see it up to that point", playable.path.string(),
                 integrity_text(playable.integrity), playable.problem.empty() ? "no trailer" : playable.problem);
  if (playable.format_change_us)
    spdlog::warn("recording {}: its viewer switched to pixel format {} at {:.1f} s; playback ends there (the player "
                 "cannot convert)",
                 playable.path.string(), record::describe(*playable.format_change),
                 static_cast<double>(*playable.format_change_us) / 1e6);
  if (playable.server_bytes == 0)
    spdlog::warn("recording {} holds no server bytes: viewers see only the initial (empty) screen",
                 playable.path.string());
}

}  // namespace

int run_player(const PlayOptions& options) {
  auto fail = [](int code, const std::string& message) {
    std::cerr << "vnc-hooks-manager play: " << message << '\n';
    return code;
  };
  if (!(options.speed > 0) || !std::isfinite(options.speed)) return fail(exit_usage, "--speed must be a number above 0");
  if (!(options.start_seconds >= 0) || !std::isfinite(options.start_seconds))
    return fail(exit_usage, "--start must be 0 or more seconds");
  if (options.max_viewers && *options.max_viewers == 0) return fail(exit_usage, "--max-viewers must be at least 1");
  std::string error;
  const auto listen = conf::parse_listen_address(options.listen, error);
  if (!listen) return fail(exit_usage, "--listen " + util::printable(options.listen) + ": " + error);

  const auto playable = load_playable(options.file, error);
  if (!playable) return fail(exit_unplayable, error);
  log_recording(*playable);
  if (playable->header.viewer_encodings == std::nullopt)
    spdlog::info("the recording does not say which encodings its viewer accepted; viewers are not checked for them");

  std::signal(SIGPIPE, SIG_IGN);
  asio::io_context io(1);
  auto acceptor = open_acceptor(io, *listen, error);
  if (!acceptor) return fail(exit_error, error);

  PlaybackSettings settings;
  settings.playable = &*playable;
  settings.server_init = server_init_message(*playable);
  settings.password = options.password;
  settings.pace = Pace{options.speed, seconds_to_us(options.start_seconds)};
  settings.loop = options.loop;
  if (options.start_seconds * 1e6 > static_cast<double>(playable->last_time_us))
    spdlog::warn("--start {} s is past the recording's end ({:.1f} s): viewers get everything at once",
                 options.start_seconds, static_cast<double>(playable->last_time_us) / 1e6);

  const auto bound = acceptor->local_endpoint();
  PlayerServer server(io, std::move(*acceptor), settings, options.max_viewers);
  server.start();
  std::cout << "playing " << options.file.string() << " on " << host_port_text(bound) << std::endl;
  spdlog::info("playing {} on {}{}", options.file.string(), host_port_text(bound),
               options.password.empty() ? " (security None)" : " (VNC password)");
  io.run();
  spdlog::info("player stopped");
  return exit_ok;
}

}  // namespace vhm::player
