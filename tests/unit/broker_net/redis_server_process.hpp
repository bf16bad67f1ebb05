#pragma once
// A real redis-server (Debian's) on a free loopback port for the client's
// tests, in a scratch directory, without persistence. Stopped (SIGKILL) and
// restartable on the same port.
#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace vhm::broker::test {

class RedisServerProcess {
 public:
  // `extra`: more redis-server options, e.g. {"--requirepass", "secret"}.
  explicit RedisServerProcess(std::vector<std::string> extra = {});
  ~RedisServerProcess();
  RedisServerProcess(const RedisServerProcess&) = delete;
  RedisServerProcess& operator=(const RedisServerProcess&) = delete;

  std::uint16_t port() const { return port_; }
  void kill();
  void start();  // again, on the same port

  static std::uint16_t free_port();

 private:
  std::vector<std::string> extra_;
  std::filesystem::path dir_;
  std::uint16_t port_ = 0;
  pid_t pid_ = -1;
};

}  // namespace vhm::broker::test
