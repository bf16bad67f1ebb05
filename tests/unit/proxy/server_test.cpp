// Server reload and graceful shutdown on loopback: real listeners, real
// sessions to a stand-in server that accepts and stays silent (so sessions
// stay live in their handshake), events caught by a recording sink.
#include <catch2/catch.hpp>

#include <array>
#include <mutex>
#include <thread>

#include "conf/config_loader.hpp"
#include "proxy/server.hpp"
#include "tests/unit/proxy/run_until.hpp"

using namespace vhm;
using namespace std::chrono_literals;
using conf::Field;
namespace asio = boost::asio;
using tcp = asio::ip::tcp;

namespace {

class RecordingSink final : public hooks::EventSink {
 public:
  void publish(hooks::Event event, hooks::EventCompletion done) override {
    {
      std::lock_guard lock(mutex_);
      events_.push_back(std::move(event));
    }
    if (done) done(hooks::EventOutcome{});
  }
  std::vector<hooks::Event> of(conf::EventKind kind) const {
    std::lock_guard lock(mutex_);
    std::vector<hooks::Event> found;
    for (const auto& event : events_)
      if (event.kind == kind) found.push_back(event);
    return found;
  }

 private:
  mutable std::mutex mutex_;
  std::vector<hooks::Event> events_;
};

class RecordingObserver final : public proxy::LifecycleObserver {
 public:
  void ready(std::size_t listeners) override { calls.push_back("ready " + std::to_string(listeners)); }
  void reloading() override { calls.push_back("reloading"); }
  void reloaded(bool ok, const std::string& error) override {
    calls.push_back(ok ? "reloaded ok" : "reloaded failed");
    last_error = error;
  }
  void stopping() override { calls.push_back("stopping"); }
  void sessions_changed(std::size_t sessions) override { counts.push_back(sessions); }
  std::vector<std::string> calls;
  std::vector<std::size_t> counts;
  std::string last_error;
};

// A VNC server stand-in on its own thread: accepts and holds every connection,
// says nothing, and hangs up when its peer does.
class SilentServer {
 public:
  SilentServer() : acceptor_(io_, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)) {
    accept();
    thread_ = std::thread([this] { io_.run(); });
  }
  ~SilentServer() {
    asio::post(io_, [this] {
      acceptor_.close();
      for (auto& socket : held_) socket->close();
    });
    thread_.join();
  }
  std::uint16_t port() const { return port_; }

 private:
  void accept() {
    acceptor_.async_accept([this](const boost::system::error_code& error, tcp::socket socket) {
      if (error) return;
      held_.push_back(std::make_unique<tcp::socket>(std::move(socket)));
      drain(*held_.back());
      accept();
    });
  }
  void drain(tcp::socket& socket) {
    socket.async_read_some(asio::buffer(buffer_), [this, &socket](const boost::system::error_code& error, std::size_t) {
      if (error) {
        boost::system::error_code ignored;
        socket.close(ignored);
        return;
      }
      drain(socket);
    });
  }
  asio::io_context io_;
  tcp::acceptor acceptor_;
  std::uint16_t port_ = acceptor_.local_endpoint().port();
  std::vector<std::unique_ptr<tcp::socket>> held_;
  std::array<char, 512> buffer_{};
  std::thread thread_;
};

std::shared_ptr<const conf::Config> load(const std::string& yaml) {
  auto result = conf::load_config_string(yaml, "test.yaml", std::filesystem::temp_directory_path());
  std::string problems;
  for (const auto& problem : result.problems) problems += problem.to_string() + "\n";
  INFO(problems);
  REQUIRE(result.ok());
  return result.config;
}

std::string listener_yaml(std::uint16_t target_port, const std::string& extra = {}) {
  return "  - listen: \"127.0.0.1:0\"\n    target: \"127.0.0.1:" + std::to_string(target_port) + "\"\n" + extra;
}

std::string config_yaml(const std::string& listeners, const std::string& global = {}) {
  return "global:\n  log_level: \"warn\"\n" + global + "listeners:\n" + listeners;
}

std::uint16_t port_of(const std::string& address) {
  return static_cast<std::uint16_t>(std::stoi(address.substr(address.rfind(':') + 1)));
}

using test::run_until;

// Runs until the io_context has no work left (the server finished shutting down).
bool run_to_end(asio::io_context& io, std::chrono::milliseconds limit = 5s) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  if (io.stopped()) io.restart();
  while (!io.stopped()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    io.run_for(5ms);
  }
  return true;
}

tcp::socket connect_to(asio::io_context& io, const std::string& address) {
  tcp::socket socket(io);
  socket.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port_of(address)));
  return socket;
}

bool refuses_connections(asio::io_context& io, const std::string& address) {
  tcp::socket socket(io);
  boost::system::error_code error;
  socket.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port_of(address)), error);
  return error == asio::error::connection_refused;
}

struct Fixture {
  asio::io_context io{1};
  RecordingSink sink;
  RecordingObserver observer;
  std::unique_ptr<proxy::Server> server;
  std::shared_ptr<const conf::Config> next;  // what the loader returns
  conf::LoadResult broken;                   // returned instead when set
  bool use_broken = false;

  void start(const std::string& yaml) {
    server = std::make_unique<proxy::Server>(io, load(yaml), sink);
    server->set_observer(&observer);
    server->enable_reload(
        [this] {
          if (use_broken) return broken;
          conf::LoadResult result;
          result.config = next;
          return result;
        },
        nullptr);
    std::string error;
    REQUIRE(server->start(error));
  }
  bool reload_to(const std::string& yaml) {
    next = load(yaml);
    return server->reload();
  }
  std::size_t live() const { return server->sessions().size(); }
  bool wait_sessions(std::size_t count) {
    return run_until(io, [&] { return live() == count; });
  }
};

}  // namespace

TEST_CASE("server: reload keeps an unchanged listener's socket, closes removed listeners and opens new ones") {
  SilentServer x, y, z;
  Fixture f;
  f.start(config_yaml(listener_yaml(x.port()) + listener_yaml(y.port())));
  const auto before = f.server->listening();
  REQUIRE(before.size() == 2);

  // Both listen on 127.0.0.1:0; the targets tell which one stays.
  REQUIRE(f.reload_to(config_yaml(listener_yaml(y.port()))));
  CHECK(f.server->listening() == std::vector<std::string>{before[1]});
  CHECK(refuses_connections(f.io, before[0]));

  REQUIRE(f.reload_to(config_yaml(listener_yaml(y.port()) + listener_yaml(z.port()))));
  const auto after = f.server->listening();
  REQUIRE(after.size() == 2);
  CHECK(after[0] == before[1]);  // y's listener kept its socket (and port)
  CHECK(after[1] != before[1]);
  auto viewer = connect_to(f.io, after[1]);
  REQUIRE(run_until(f.io, [&] { return f.sink.of(conf::EventKind::connect).size() == 1; }));
  CHECK(f.sink.of(conf::EventKind::connect)[0][Field::target_port] == std::to_string(z.port()));
}

TEST_CASE("server: a session counts as in its handshake from accept until it ends (the io loop polls meanwhile)") {
  SilentServer x;  // never sends its version: both sessions stay in their handshake
  Fixture f;
  f.start(config_yaml(listener_yaml(x.port())));
  CHECK(f.server->sessions().handshakes_in_flight() == 0);
  const auto address = f.server->listening().at(0);
  auto first = connect_to(f.io, address);
  auto second = connect_to(f.io, address);
  REQUIRE(f.wait_sessions(2));
  CHECK(f.server->sessions().handshakes_in_flight() == 2);
  first.close();
  REQUIRE(f.wait_sessions(1));
  CHECK(f.server->sessions().handshakes_in_flight() == 1);
  second.close();
  REQUIRE(f.wait_sessions(0));
  CHECK(f.server->sessions().handshakes_in_flight() == 0);
}

TEST_CASE("server: a session running across a reload keeps its target; new sessions get the new one") {
  SilentServer x, y;
  Fixture f;
  f.start(config_yaml(listener_yaml(x.port())));
  const auto address = f.server->listening().at(0);
  auto first = connect_to(f.io, address);
  REQUIRE(f.wait_sessions(1));

  REQUIRE(f.reload_to(config_yaml(listener_yaml(y.port()))));
  CHECK(f.server->listening().at(0) == address);
  auto second = connect_to(f.io, address);
  REQUIRE(f.wait_sessions(2));
  run_until(f.io, [] { return false; }, 100ms);
  CHECK(f.live() == 2);  // the first one was not dropped
  CHECK(f.sink.of(conf::EventKind::disconnect).empty());
  const auto connects = f.sink.of(conf::EventKind::connect);
  REQUIRE(connects.size() == 2);
  CHECK(connects[0][Field::target_port] == std::to_string(x.port()));
  CHECK(connects[1][Field::target_port] == std::to_string(y.port()));
}

TEST_CASE("server: per-listener limits keep counting the sessions admitted before a reload") {
  SilentServer x;
  Fixture f;
  f.start(config_yaml(listener_yaml(x.port(), "    max_sessions_per_ip: 1\n")));
  const auto address = f.server->listening().at(0);
  auto first = connect_to(f.io, address);
  REQUIRE(f.wait_sessions(1));
  REQUIRE(f.reload_to(config_yaml(listener_yaml(x.port(), "    max_sessions_per_ip: 1\n    user: \"alice\"\n"))));
  auto second = connect_to(f.io, address);
  REQUIRE(run_until(f.io, [&] { return f.sink.of(conf::EventKind::blocked).size() == 1; }));
  CHECK(f.sink.of(conf::EventKind::blocked)[0][Field::reason] == "per_ip_limit");
  CHECK(f.live() == 1);
}

TEST_CASE("server: a config that does not load changes nothing, and the observer hears why") {
  SilentServer x;
  Fixture f;
  f.start(config_yaml(listener_yaml(x.port())));
  const auto before = f.server->listening();
  const auto config_before = f.server->config();
  f.broken.problems.push_back({"test.yaml", 7, "listeners[0].listen", "not an address"});
  f.use_broken = true;
  CHECK_FALSE(f.server->reload());
  CHECK(f.server->listening() == before);
  CHECK(f.server->config() == config_before);
  CHECK(f.observer.calls == std::vector<std::string>{"reloading", "reloaded failed"});
  CHECK_THAT(f.observer.last_error, Catch::Contains("test.yaml:7: listeners[0].listen: not an address"));
}

TEST_CASE("server: a new listener that cannot bind fails the whole reload") {
  SilentServer x, y;
  Fixture f;
  f.start(config_yaml(listener_yaml(x.port())));
  const auto before = f.server->listening();
  const auto config_before = f.server->config();
  // y's own port is taken: listening there must fail.
  const std::string taken = "  - listen: \"127.0.0.1:" + std::to_string(y.port()) + "\"\n    target: \"127.0.0.1:1\"\n";
  CHECK_FALSE(f.reload_to(config_yaml(listener_yaml(y.port()) + listener_yaml(x.port()) + taken)));
  CHECK(f.server->listening() == before);
  CHECK(f.server->config() == config_before);
  CHECK_THAT(f.observer.last_error, Catch::Contains("cannot listen on 127.0.0.1:" + std::to_string(y.port())));
  // And the listener opened for the first new entry was closed again: only the old one accepts.
  auto viewer = connect_to(f.io, before[0]);
  REQUIRE(run_until(f.io, [&] { return f.sink.of(conf::EventKind::connect).size() == 1; }));
  CHECK(f.sink.of(conf::EventKind::connect)[0][Field::target_port] == std::to_string(x.port()));
}

TEST_CASE("server: the observer hears ready, reloading/reloaded, the session count and stopping") {
  SilentServer x;
  Fixture f;
  f.start(config_yaml(listener_yaml(x.port()) + listener_yaml(x.port())));
  REQUIRE(run_until(f.io, [&] { return !f.observer.calls.empty(); }));
  CHECK(f.observer.calls == std::vector<std::string>{"ready 2"});
  auto viewer = connect_to(f.io, f.server->listening().at(0));
  REQUIRE(run_until(f.io, [&] { return !f.observer.counts.empty(); }));
  CHECK(f.observer.counts.back() == 1);
  REQUIRE(f.reload_to(config_yaml(listener_yaml(x.port()))));
  f.server->stop("SIGTERM");
  viewer.close();
  REQUIRE(run_to_end(f.io));
  CHECK(f.observer.calls == std::vector<std::string>{"ready 2", "reloading", "reloaded ok", "stopping"});
  CHECK(f.observer.counts.back() == 0);
}

TEST_CASE("server: quick mode (no loader) does not reload") {
  SilentServer x;
  asio::io_context io{1};
  RecordingSink sink;
  proxy::Server server(io, load(config_yaml(listener_yaml(x.port()))), sink);
  std::string error;
  REQUIRE(server.start(error));
  const auto config = server.config();
  CHECK_FALSE(server.reload());
  CHECK(server.config() == config);
}

TEST_CASE("server: stop lets sessions run for shutdown_grace, then closes them with reason shutdown") {
  SilentServer x;
  Fixture f;
  f.start(config_yaml(listener_yaml(x.port()), "  shutdown_grace: 400ms\n"));
  const auto address = f.server->listening().at(0);
  auto a = connect_to(f.io, address);
  auto b = connect_to(f.io, address);
  REQUIRE(f.wait_sessions(2));
  const auto stopped_at = std::chrono::steady_clock::now();
  f.server->stop("SIGTERM");
  CHECK(refuses_connections(f.io, address));  // stopped accepting at once
  run_until(f.io, [] { return false; }, 150ms);
  CHECK(f.live() == 2);
  CHECK(f.sink.of(conf::EventKind::disconnect).empty());
  REQUIRE(run_to_end(f.io));
  CHECK(std::chrono::steady_clock::now() - stopped_at >= 400ms);
  const auto disconnects = f.sink.of(conf::EventKind::disconnect);
  REQUIRE(disconnects.size() == 2);
  for (const auto& event : disconnects) CHECK(event[Field::reason] == "shutdown");
}

TEST_CASE("server: a second stop during the grace closes every session at once") {
  SilentServer x;
  Fixture f;
  f.start(config_yaml(listener_yaml(x.port()), "  shutdown_grace: 60s\n"));
  auto a = connect_to(f.io, f.server->listening().at(0));
  REQUIRE(f.wait_sessions(1));
  f.server->stop("SIGTERM");
  run_until(f.io, [] { return false; }, 50ms);
  CHECK(f.live() == 1);
  f.server->stop("SIGTERM");
  REQUIRE(run_to_end(f.io, 3s));
  const auto disconnects = f.sink.of(conf::EventKind::disconnect);
  REQUIRE(disconnects.size() == 1);
  CHECK(disconnects[0][Field::reason] == "shutdown");
}

TEST_CASE("server: sessions that end by themselves during the grace keep their own reason, and the stop ends early") {
  SilentServer x;
  Fixture f;
  f.start(config_yaml(listener_yaml(x.port()), "  shutdown_grace: 60s\n"));
  auto a = connect_to(f.io, f.server->listening().at(0));
  REQUIRE(f.wait_sessions(1));
  f.server->stop("SIGINT");
  a.close();
  REQUIRE(run_to_end(f.io, 3s));
  const auto disconnects = f.sink.of(conf::EventKind::disconnect);
  REQUIRE(disconnects.size() == 1);
  CHECK(disconnects[0][Field::reason] == "client_closed");
}

TEST_CASE("server: a zero shutdown_grace closes sessions at once; with no sessions the stop is immediate") {
  SilentServer x;
  Fixture f;
  f.start(config_yaml(listener_yaml(x.port()), "  shutdown_grace: 0\n"));
  SECTION("live sessions") {
    auto a = connect_to(f.io, f.server->listening().at(0));
    REQUIRE(f.wait_sessions(1));
    f.server->stop("SIGTERM");
    REQUIRE(run_to_end(f.io, 2s));
    REQUIRE(f.sink.of(conf::EventKind::disconnect).size() == 1);
    CHECK(f.sink.of(conf::EventKind::disconnect)[0][Field::reason] == "shutdown");
  }
  SECTION("no sessions") {
    f.server->stop("SIGTERM");
    REQUIRE(run_to_end(f.io, 2s));
    CHECK(f.sink.of(conf::EventKind::disconnect).empty());
  }
}

TEST_CASE("server: a reload applies shutdown_grace; SIGHUP during shutdown does not reload") {
  SilentServer x;
  Fixture f;
  f.start(config_yaml(listener_yaml(x.port()), "  shutdown_grace: 60s\n"));
  auto a = connect_to(f.io, f.server->listening().at(0));
  REQUIRE(f.wait_sessions(1));
  REQUIRE(f.reload_to(config_yaml(listener_yaml(x.port()), "  shutdown_grace: 100ms\n")));
  f.server->stop("SIGTERM");
  CHECK_FALSE(f.reload_to(config_yaml(listener_yaml(x.port()), "  shutdown_grace: 60s\n")));
  REQUIRE(run_to_end(f.io, 3s));
  REQUIRE(f.sink.of(conf::EventKind::disconnect).size() == 1);
  CHECK(f.sink.of(conf::EventKind::disconnect)[0][Field::reason] == "shutdown");
}
