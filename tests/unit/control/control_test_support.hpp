#pragma once
// Shared pieces of the control tests: a scripted ControlHandler, a temporary
// directory with a short path (sockaddr_un allows 107 bytes), a ControlServer
// running on its own io thread, and a bare unix-socket client for the cases
// the ctl client never produces (no newline, nothing at all).
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <catch2/catch.hpp>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "control/control_handler.hpp"
#include "control/control_server.hpp"
#include "control/ctl_client.hpp"

namespace vhm::control::test {

class FakeHandler : public ControlHandler {
 public:
  std::vector<SessionRow> session_rows;
  std::vector<BanRow> ban_rows;
  std::set<std::string> banned;         // addresses unban() knows
  std::set<std::string> live_sessions;  // ids kill() knows
  bool throw_on_kill = false;

  std::vector<SessionRow> sessions() override {
    record("sessions");
    return session_rows;
  }
  std::vector<BanRow> bans() override {
    record("bans");
    return ban_rows;
  }
  CommandResult unban(const std::string& address) override {
    record("unban " + address);
    std::lock_guard lock(mutex_);
    if (banned.erase(address) == 0) return {false, "no ban or failures recorded for " + address};
    return {true, "unbanned " + address};
  }
  CommandResult kill(const std::string& session_id) override {
    record("kill " + session_id);
    if (throw_on_kill) throw std::runtime_error("boom");
    std::lock_guard lock(mutex_);
    if (live_sessions.erase(session_id) == 0) return {false, "no session " + session_id};
    return {true, "session " + session_id + " killed"};
  }

  std::vector<std::string> calls() const {
    std::lock_guard lock(mutex_);
    return calls_;
  }
  std::set<std::thread::id> threads() const {
    std::lock_guard lock(mutex_);
    return threads_;
  }

 private:
  void record(std::string call) {
    std::lock_guard lock(mutex_);
    calls_.push_back(std::move(call));
    threads_.insert(std::this_thread::get_id());
  }
  mutable std::mutex mutex_;
  std::vector<std::string> calls_;
  std::set<std::thread::id> threads_;
};

// mkdtemp under /tmp (mode 0700); removed with everything in it.
class TempDir {
 public:
  TempDir() {
    char pattern[] = "/tmp/vhm-ctl-XXXXXX";
    if (!::mkdtemp(pattern)) throw std::runtime_error("mkdtemp failed");
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const char* name) const { return path_ / name; }

 private:
  std::filesystem::path path_;
};

// A started ControlServer whose io_context runs on its own thread, the way
// the proxy runs it. Everything that touches the server after start() goes
// through on_io().
class RunningServer {
 public:
  explicit RunningServer(std::filesystem::path socket, ControlServerOptions options = {}) {
    server_ = std::make_unique<ControlServer>(io_, std::move(socket), handler, options);
    std::string error;
    const bool started = server_->start(error);
    INFO(error);
    REQUIRE(started);
    thread_ = std::thread([this] { io_.run(); });
    io_thread_ = thread_.get_id();
  }
  ~RunningServer() {
    on_io([this] { server_->close(); });
    work_.reset();
    io_.stop();
    thread_.join();
  }
  RunningServer(const RunningServer&) = delete;
  RunningServer& operator=(const RunningServer&) = delete;

  template <typename F>
  void on_io(F action) {
    std::promise<void> done;
    boost::asio::post(io_, [&] {
      action();
      done.set_value();
    });
    done.get_future().wait();
  }
  void close() {
    on_io([this] { server_->close(); });
  }
  std::thread::id io_thread() const { return io_thread_; }
  const std::filesystem::path& path() const { return server_->socket_path(); }

  FakeHandler handler;

 private:
  boost::asio::io_context io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_{io_.get_executor()};
  std::unique_ptr<ControlServer> server_;
  std::thread thread_;
  std::thread::id io_thread_;
};

struct CtlRun {
  int status = -1;
  std::string out;
  std::string err;
};

inline CtlRun ctl(const std::filesystem::path& socket, std::vector<std::string> words, bool json = false) {
  CtlOptions options;
  options.socket = socket;
  options.json = json;
  options.words = std::move(words);
  options.timeout = std::chrono::seconds(10);
  std::ostringstream out, err;
  CtlRun run;
  run.status = run_ctl(options, out, err);
  run.out = out.str();
  run.err = err.str();
  return run;
}

// Connected unix socket with 10 s send/receive timeouts, or -1.
inline int connect_unix(const std::filesystem::path& path) {
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  timeval timeout{10, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  std::strncpy(address.sun_path, path.c_str(), sizeof address.sun_path - 1);
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

// Everything the peer sends until it closes (or 10 s pass).
inline std::string read_all(int fd) {
  std::string data;
  char buffer[4096];
  for (;;) {
    const ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
    if (n <= 0) return data;
    data.append(buffer, static_cast<std::size_t>(n));
  }
}

}  // namespace vhm::control::test
