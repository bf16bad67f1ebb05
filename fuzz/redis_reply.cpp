// Replies from a Redis server (broker/redis_reply.hpp: hiredis's redisReader
// building our RedisReply tree), fed in pieces of every size as they arrive
// from a socket. Beyond not crashing or leaking on a half-built tree: the
// same bytes give the same replies whatever the piece size, and a command
// written by format_command reads back as the array of its arguments.
#include <string>
#include <string_view>
#include <vector>

#include "broker/redis_reply.hpp"
#include "fuzz/support/check.hpp"

namespace {

using vhm::broker::RedisReply;
using vhm::broker::RedisReplyParser;

struct Parsed {
  std::vector<RedisReply> replies;
  bool failed = false;
};

Parsed parse_in_pieces(std::string_view input, std::size_t piece) {
  Parsed out;
  RedisReplyParser parser;
  for (std::size_t pos = 0; pos < input.size() && !out.failed; pos += piece) {
    parser.feed(input.substr(pos, piece));
    while (auto reply = parser.next()) out.replies.push_back(std::move(*reply));
    out.failed = !parser.error().empty();
  }
  return out;
}

bool same(const RedisReply& a, const RedisReply& b) {
  if (a.type != b.type || a.text != b.text || a.integer != b.integer || a.elements.size() != b.elements.size())
    return false;
  for (std::size_t i = 0; i < a.elements.size(); ++i)
    if (!same(a.elements[i], b.elements[i])) return false;
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const std::size_t piece = data[0] % 64 + 1;
  const std::string_view input(reinterpret_cast<const char*>(data + 1), size - 1);

  const Parsed whole = parse_in_pieces(input, input.size() + 1);
  const Parsed pieces = parse_in_pieces(input, piece);
  VHM_FUZZ_CHECK(whole.failed == pieces.failed, "piece size changed whether the input is an error");
  VHM_FUZZ_CHECK(whole.replies.size() == pieces.replies.size(), "piece size changed the number of replies");
  for (std::size_t i = 0; i < whole.replies.size(); ++i)
    VHM_FUZZ_CHECK(same(whole.replies[i], pieces.replies[i]), "piece size changed reply " + std::to_string(i));

  // Arguments with any bytes (split at NUL) survive format_command.
  std::vector<std::string> args;
  std::size_t start = 0;
  for (std::size_t i = 0; i <= input.size(); ++i)
    if (i == input.size() || input[i] == '\0') {
      args.emplace_back(input.substr(start, i - start));
      start = i + 1;
    }
  RedisReplyParser parser;
  parser.feed(vhm::broker::format_command(args));
  const auto echoed = parser.next();
  VHM_FUZZ_CHECK(echoed && echoed->type == RedisReply::Type::array && echoed->elements.size() == args.size(),
                 "a formatted command does not read back as an array");
  for (std::size_t i = 0; i < args.size(); ++i)
    VHM_FUZZ_CHECK(echoed->elements[i].text == args[i], "argument " + std::to_string(i) + " changed");
  return 0;
}
