#pragma once
// A Redis connection driven by Asio (docs/fleet.md): plain TCP or TLS
// (rediss://, OpenSSL through tls/), AUTH from the password file, SELECT,
// and failover across RedisConfig::addresses: a connection that fails or
// drops makes the next command connect again, starting with the next address.
//
// One user at a time: a client is owned by one coroutine chain (the event
// publisher, a worker, the shared ban table), which awaits each call before
// the next. Several users take several clients. Every call is bounded by
// connect_timeout / command_timeout; on error the connection is closed and
// `ec` says why (never the password).
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/system/error_code.hpp>

#include "broker/redis_reply.hpp"
#include "conf/config.hpp"

namespace vhm::broker {

using Command = std::vector<std::string>;

class RedisClient {
 public:
  // `purpose` names the client in logs ("event stream", "shared bans", "worker").
  RedisClient(boost::asio::any_io_executor executor, conf::RedisConfig config, std::string purpose);
  ~RedisClient();
  RedisClient(const RedisClient&) = delete;
  RedisClient& operator=(const RedisClient&) = delete;

  // Connects if needed, then sends the commands in one write (pipelined) and
  // returns one reply per command, in order. A Redis error reply (e.g.
  // BUSYGROUP) is a reply of type error, not an `ec`; `ec` is set only when
  // the connection failed (nothing reached Redis, or the replies are lost:
  // the caller decides whether to retry).
  boost::asio::awaitable<std::vector<RedisReply>> pipeline(std::vector<Command> commands,
                                                           boost::system::error_code& ec);
  boost::asio::awaitable<RedisReply> command(Command args, boost::system::error_code& ec);

  // After SUBSCRIBE/PSUBSCRIBE through command(): waits for the next pushed
  // message (no command_timeout: the caller bounds it, e.g. with a timer).
  boost::asio::awaitable<RedisReply> next_push(boost::system::error_code& ec);

  // Connects now (for start-up checks and logs); true when connected.
  boost::asio::awaitable<bool> connect(boost::system::error_code& ec);
  bool connected() const;
  // "host:port" of the current (or last tried) address, for logs and metrics.
  std::string address() const;
  // Why the last connect or command failed, for the caller's log line
  // ("cannot connect to 127.0.0.1:6379: Connection refused"). Never a secret.
  const std::string& last_error() const;
  // Cancels what is in flight (its call completes with operation_aborted) and closes.
  void close();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace vhm::broker
