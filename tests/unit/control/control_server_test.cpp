// The socket side of ControlServer: the file it creates, what it refuses,
// framing limits, timeouts, who may talk to it, and on which thread requests run.
#include <grp.h>
#include <pwd.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <boost/json.hpp>
#include <catch2/catch.hpp>
#include <boost/asio/steady_timer.hpp>
#include <fstream>

#include "control_test_support.hpp"

using namespace vhm::control;
using namespace vhm::control::test;
namespace json = boost::json;

namespace {

json::object response_of(const Exchange& exchange) {
  INFO(exchange.error);
  REQUIRE(exchange.ok);
  json::error_code error;
  json::value value = json::parse(exchange.response, error);
  INFO(exchange.response);
  REQUIRE_FALSE(error);
  REQUIRE(value.is_object());
  return value.as_object();
}

std::string error_of(const json::object& response) {
  CHECK(response.at("ok") == false);
  return std::string(response.at("error").as_string());
}

constexpr std::chrono::seconds client_timeout{10};

// A socket file with nobody listening on it, as a crashed proxy leaves it.
void make_stale_socket(const std::filesystem::path& path) {
  const int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
  REQUIRE(fd >= 0);
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  std::strncpy(address.sun_path, path.c_str(), sizeof address.sun_path - 1);
  REQUIRE(::bind(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) == 0);
  REQUIRE(::listen(fd, 1) == 0);
  ::close(fd);  // the file stays
}

mode_t mode_of(const std::filesystem::path& path) {
  struct stat info{};
  REQUIRE(::lstat(path.c_str(), &info) == 0);
  return info.st_mode;
}

// In a forked child: become `uid`, connect, send a sessions request, and
// report through the exit status: 0 refused with "permission denied",
// 1 served, 2 could not connect, 3 anything else, 4 setuid failed.
int child_as_uid(uid_t uid, gid_t gid, const std::filesystem::path& socket) {
  const std::string path = socket.native();  // prepared before fork
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    if (::setgroups(0, nullptr) != 0 || ::setgid(gid) != 0 || ::setuid(uid) != 0) ::_exit(4);
    const int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
    timeval timeout{10, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::memcpy(address.sun_path, path.c_str(), path.size() + 1);
    if (::connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0) ::_exit(2);
    // A refused peer may be answered and closed before its request is
    // written: the send may fail (no SIGPIPE), the answer is still there.
    const char request[] = "{\"command\":\"sessions\"}\n";
    ::send(fd, request, sizeof request - 1, MSG_NOSIGNAL);
    char response[512];
    std::size_t length = 0;
    for (ssize_t n; length < sizeof response - 1 && (n = ::read(fd, response + length, sizeof response - 1 - length)) > 0;)
      length += static_cast<std::size_t>(n);
    response[length] = '\0';
    if (std::strstr(response, "\"ok\":false") && std::strstr(response, "permission denied")) ::_exit(0);
    if (std::strstr(response, "\"ok\":true")) ::_exit(1);
    ::_exit(3);
  }
  int status = 0;
  REQUIRE(::waitpid(pid, &status, 0) == pid);
  REQUIRE(WIFEXITED(status));
  return WEXITSTATUS(status);
}

const passwd* nobody() {
  const passwd* user = ::getpwnam("nobody");
  REQUIRE(user != nullptr);
  REQUIRE(user->pw_uid != 0);
  return user;
}

}  // namespace

TEST_CASE("the control socket file is created with mode 0600 whatever the umask") {
  TempDir dir;
  const mode_t previous = ::umask(0);  // would give 0777 without the server's own umask
  const auto path = dir / "control.sock";
  std::optional<RunningServer> server;
  server.emplace(path);
  ::umask(previous);
  const mode_t mode = mode_of(path);
  CHECK(S_ISSOCK(mode));
  CHECK((mode & 07777) == 0600);
}

TEST_CASE("the server creates missing parent directories of the socket") {
  TempDir dir;
  const auto path = dir.path() / "run" / "vhm" / "control.sock";
  RunningServer server(path);
  CHECK(S_ISSOCK(mode_of(path)));
  CHECK(ctl(path, {"sessions"}).status == 0);
}

TEST_CASE("a second server refuses a socket path that a live server answers on") {
  TempDir dir;
  const auto path = dir / "control.sock";
  RunningServer first(path);
  struct stat before{};
  REQUIRE(::lstat(path.c_str(), &before) == 0);

  boost::asio::io_context io;
  FakeHandler handler;
  ControlServer second(io, path, handler);
  std::string error;
  CHECK_FALSE(second.start(error));
  CHECK_THAT(error, Catch::Contains("already serving") && Catch::Contains(path.native()));

  struct stat after{};
  REQUIRE(::lstat(path.c_str(), &after) == 0);
  CHECK(after.st_ino == before.st_ino);  // the live file was left alone
  second.close();                        // and closing the loser does not remove it
  CHECK(std::filesystem::exists(path));
  CHECK(ctl(path, {"sessions"}).status == 0);
}

TEST_CASE("a stale socket file left by a crash is replaced") {
  TempDir dir;
  const auto path = dir / "control.sock";
  make_stale_socket(path);
  REQUIRE(S_ISSOCK(mode_of(path)));
  REQUIRE_FALSE(exchange_line(path, R"({"command":"sessions"})", client_timeout).ok);  // really stale

  RunningServer server(path);
  CHECK(ctl(path, {"sessions"}).status == 0);
  CHECK((mode_of(path) & 07777) == 0600);
}

TEST_CASE("a path that holds something other than a socket is not replaced") {
  TempDir dir;
  const auto path = dir / "control.sock";
  std::ofstream(path) << "precious";
  boost::asio::io_context io;
  FakeHandler handler;
  ControlServer server(io, path, handler);
  std::string error;
  CHECK_FALSE(server.start(error));
  CHECK_THAT(error, Catch::Contains("not a socket"));
  std::ifstream file(path);
  std::string content;
  file >> content;
  CHECK(content == "precious");
}

TEST_CASE("a socket path longer than sockaddr_un allows is refused with a message") {
  boost::asio::io_context io;
  FakeHandler handler;
  ControlServer server(io, "/tmp/" + std::string(120, 'x'), handler);
  std::string error;
  CHECK_FALSE(server.start(error));
  CHECK_THAT(error, Catch::Contains("too long"));
}

TEST_CASE("close() stops accepting and removes the socket file") {
  TempDir dir;
  const auto path = dir / "control.sock";
  RunningServer server(path);
  REQUIRE(ctl(path, {"sessions"}).status == 0);
  server.close();
  CHECK_FALSE(std::filesystem::exists(path));
  const auto run = ctl(path, {"sessions"});
  CHECK(run.status == 1);
  CHECK_THAT(run.err, Catch::Contains("cannot connect"));
}

TEST_CASE("close() leaves a socket file that another process put in its place") {
  TempDir dir;
  const auto path = dir / "control.sock";
  RunningServer server(path);
  std::filesystem::remove(path);
  make_stale_socket(path);  // someone else's file now
  server.close();
  CHECK(std::filesystem::exists(path));
}

TEST_CASE("a request line that is not JSON gets an error response") {
  TempDir dir;
  RunningServer server(dir / "control.sock");
  const auto response = response_of(exchange_line(server.path(), "sessions please", client_timeout));
  CHECK_THAT(error_of(response), Catch::Contains("not valid JSON"));
  CHECK(server.handler.calls().empty());
}

TEST_CASE("a request line over the limit gets an error response") {
  TempDir dir;
  RunningServer server(dir / "control.sock");
  SECTION("through ctl") {
    const auto run = ctl(server.path(), {"unban", std::string(5000, '1')});
    CHECK(run.status == 1);
    CHECK_THAT(run.err, Catch::Contains("request line too long (limit 4096 bytes)"));
    CHECK(server.handler.calls().empty());
  }
  SECTION("one byte over") {
    std::string line = R"({"command":"sessions"})";
    line.append(4096 - line.size(), ' ');  // 4096 + newline = 4097
    CHECK_THAT(error_of(response_of(exchange_line(server.path(), line, client_timeout))),
               Catch::Contains("too long"));
    CHECK(server.handler.calls().empty());
  }
  SECTION("exactly at the limit is still served") {
    std::string line = R"({"command":"sessions"})";
    line.append(4095 - line.size(), ' ');  // 4095 + newline = 4096
    CHECK(response_of(exchange_line(server.path(), line, client_timeout)).at("ok") == true);
    CHECK(server.handler.calls() == std::vector<std::string>{"sessions"});
  }
}

TEST_CASE("a request ended by EOF instead of a newline is served") {
  TempDir dir;
  RunningServer server(dir / "control.sock");
  const int fd = connect_unix(server.path());
  REQUIRE(fd >= 0);
  const std::string request = R"({"command":"bans"})";
  REQUIRE(::write(fd, request.data(), request.size()) == static_cast<ssize_t>(request.size()));
  ::shutdown(fd, SHUT_WR);
  const std::string response = read_all(fd);
  ::close(fd);
  CHECK(response == "{\"ok\":true,\"bans\":[]}\n");
}

TEST_CASE("a client that sends no request is answered with a timeout error and closed") {
  TempDir dir;
  ControlServerOptions options;
  options.io_timeout = std::chrono::milliseconds(200);
  RunningServer server(dir / "control.sock", options);
  const int fd = connect_unix(server.path());
  REQUIRE(fd >= 0);
  const auto started = std::chrono::steady_clock::now();
  const std::string response = read_all(fd);  // returns on close; the client gives up after 10 s
  const auto waited = std::chrono::steady_clock::now() - started;
  ::close(fd);
  CHECK_THAT(response, Catch::Contains("\"ok\":false") && Catch::Contains("timed out"));
  CHECK(waited < std::chrono::seconds(5));
  CHECK(server.handler.calls().empty());
}

TEST_CASE("the handler runs on the io thread") {
  TempDir dir;
  RunningServer server(dir / "control.sock");
  REQUIRE(ctl(server.path(), {"sessions"}).status == 0);
  REQUIRE(ctl(server.path(), {"bans"}).status == 0);
  CHECK(server.handler.threads() == std::set<std::thread::id>{server.io_thread()});
}

TEST_CASE("a client of another uid cannot connect while the socket file is 0600") {
  if (::geteuid() != 0) {
    WARN("needs root to switch to another uid; not run");
    return;
  }
  TempDir dir;
  ::chmod(dir.path().c_str(), 0755);  // only the socket's own mode stands in the way
  RunningServer server(dir / "control.sock");
  const passwd* user = nobody();
  CHECK(child_as_uid(user->pw_uid, user->pw_gid, server.path()) == 2);
  CHECK(server.handler.calls().empty());
}

TEST_CASE("peer credentials: a client of another uid is refused even if the file mode allows it") {
  if (::geteuid() != 0) {
    WARN("needs root to switch to another uid; not run");
    return;
  }
  TempDir dir;
  ::chmod(dir.path().c_str(), 0755);
  RunningServer server(dir / "control.sock");
  REQUIRE(::chmod(server.path().c_str(), 0666) == 0);  // a careless admin; SO_PEERCRED still holds
  const passwd* user = nobody();
  CHECK(child_as_uid(user->pw_uid, user->pw_gid, server.path()) == 0);
  CHECK(server.handler.calls().empty());
  CHECK(child_as_uid(0, 0, server.path()) == 1);  // root is served through the same path
  CHECK(server.handler.calls() == std::vector<std::string>{"sessions"});
}

TEST_CASE("close() ends connections in progress so io_context::run() returns") {
  TempDir dir;
  boost::asio::io_context io;
  FakeHandler handler;
  ControlServer server(io, dir / "control.sock", handler);  // 5 s request timeout
  std::string error;
  REQUIRE(server.start(error));
  const int idle = connect_unix(server.socket_path());  // connected, never sends
  REQUIRE(idle >= 0);
  boost::asio::steady_timer later(io, std::chrono::milliseconds(100));
  later.async_wait([&](boost::system::error_code) { server.close(); });

  const auto started = std::chrono::steady_clock::now();
  io.run();  // returns only when the accept loop and the idle connection are gone
  CHECK(std::chrono::steady_clock::now() - started < std::chrono::seconds(2));
  CHECK(read_all(idle).empty());  // closed without a response
  ::close(idle);
  CHECK(handler.calls().empty());
}
