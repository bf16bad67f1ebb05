#pragma once
// Sockets to syslog targets, one per target, kept open between messages
// (docs/syslog.md):
//  - a Unix socket (/dev/log): datagrams; a SOCK_STREAM socket gets each
//    message followed by a NUL, as glibc's syslog(3) does;
//  - UDP: one datagram per message (RFC 5426);
//  - TCP: octet counting, "LEN SP MSG" (RFC 6587), on a persistent
//    connection that is closed on any error and opened again next time.
// Every step is non-blocking and bounded by the caller's deadline; a message
// half-written at the deadline closes the connection (its stream would be
// out of frame). Thread-safe: one mutex over the table.
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "conf/config.hpp"

namespace vhm::hooks::syslog {

// "/dev/log", "udp://192.0.2.1:514", "tcp://[2001:db8::1]:601": for logs and the table's key.
std::string describe_target(const conf::SyslogConfig& target);

class SyslogSender {
 public:
  using Clock = std::chrono::steady_clock;
  struct Outcome {
    bool ok = false;
    bool timed_out = false;
    std::string error;  // empty when ok
  };

  SyslogSender();
  ~SyslogSender();
  SyslogSender(const SyslogSender&) = delete;
  SyslogSender& operator=(const SyslogSender&) = delete;

  Outcome send(const conf::SyslogConfig& target, std::string_view message, Clock::time_point deadline);

 private:
  struct Connection;
  std::mutex mutex_;
  std::map<std::string, std::unique_ptr<Connection>> connections_;
};

}  // namespace vhm::hooks::syslog
