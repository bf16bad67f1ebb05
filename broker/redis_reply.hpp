#pragma once
// One RESP2 reply as a plain value. Parsing is hiredis's (redisReader, from
// Debian's libhiredis-dev); redis_reply.cpp only copies its tree into this
// type, so the rest of the code never touches hiredis.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace vhm::broker {

struct RedisReply {
  enum class Type : std::uint8_t { nil, status, error, integer, string, array };
  Type type = Type::nil;
  std::string text;        // status, error, string
  long long integer = 0;   // integer
  std::vector<RedisReply> elements;  // array

  bool is_error() const { return type == Type::error; }
  bool is_nil() const { return type == Type::nil; }
  // "OK"-like status or a bulk string; nullopt otherwise.
  std::optional<std::string_view> as_text() const;
  // Text of the reply for logs: an error's message, or a short description.
  std::string describe() const;
};

// Incremental RESP2 parser (hiredis's redisReader). feed() bytes as they
// arrive, then take next() replies until it returns nullopt. A protocol error
// (garbage from the server, or a nesting/size hiredis refuses) is sticky:
// error() then says what, and the connection must be dropped.
class RedisReplyParser {
 public:
  RedisReplyParser();
  ~RedisReplyParser();
  RedisReplyParser(const RedisReplyParser&) = delete;
  RedisReplyParser& operator=(const RedisReplyParser&) = delete;

  bool feed(std::string_view bytes);
  std::optional<RedisReply> next();
  const std::string& error() const { return error_; }

 private:
  void* reader_;  // redisReader*
  std::string error_;
};

// One command in RESP's wire form (an array of bulk strings): any byte may be
// in an argument, so values never become syntax.
std::string format_command(const std::vector<std::string>& args);

}  // namespace vhm::broker
