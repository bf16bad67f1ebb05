#pragma once
// Test helpers: two-direction transcripts (recorded or written out), and a
// runner that feeds a transcript to the parser in every way the wire could
// deliver it and checks that all of them give the same result.
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "rfb/handshake_parser.hpp"
#include "tests/unit/rfb/event_text.hpp"

namespace vhm::rfb::test {

using Bytes = std::vector<std::uint8_t>;

struct Segment {
  Direction direction;
  Bytes bytes;
};

// Consecutive bytes of one direction are merged into one segment.
struct Transcript {
  std::vector<Segment> segments;

  template <typename... Parts>
  Transcript& s(const Parts&... parts) {
    (add(Direction::server_to_client, parts), ...);
    return *this;
  }
  template <typename... Parts>
  Transcript& c(const Parts&... parts) {
    (add(Direction::client_to_server, parts), ...);
    return *this;
  }
  void add(Direction direction, const Bytes& bytes);
  void add(Direction direction, std::string_view text);
};

// Big-endian fields and RFB pieces.
Bytes u8(unsigned value);
Bytes u16(unsigned value);
Bytes u32(std::uint32_t value);
Bytes text(std::string_view value);
Bytes rfb_string(std::string_view value);  // u32 length + bytes
Bytes zeros(std::size_t n);
Bytes server_init(std::uint16_t width, std::uint16_t height, std::string_view name);
Bytes capability(std::uint32_t code, std::string_view vendor, std::string_view signature);
template <typename... Parts>
Bytes cat(const Parts&... parts) {
  Bytes out;
  (out.insert(out.end(), parts.begin(), parts.end()), ...);
  return out;
}

// `n` bytes of `c` (stand-ins for keys, encrypted data and the like).
inline Bytes filled(std::size_t n, char c) { return Bytes(n, static_cast<std::uint8_t>(c)); }

// VeNCrypt Plain credentials: u32 user length, u32 password length, user, password.
inline Bytes plain_credentials(const std::string& user, const std::string& pass) {
  return cat(u32(static_cast<std::uint32_t>(user.size())), u32(static_cast<std::uint32_t>(pass.size())), text(user),
             text(pass));
}

// VNC authentication's 16-byte challenge and response, easy to spot if they
// ever leaked into an event, and a password to look for the same way.
inline const Bytes challenge = text("CHALLENGE-abcdef");
inline const Bytes response = text("RESPONSE-0123456");
inline const std::string password = "hunter2-PASSWORD";

// Reads a tests/data/rfb/*.hex file (see the README there).
Transcript load_transcript(const std::string& name);

// Everything a run of the parser produced, in comparable form.
struct Observed {
  std::vector<std::string> events;  // describe() of each event, in order
  std::string error;                // the error reported, if any
  bool finished = false;
  bool failed = false;
  std::string summary;  // describe() of the final summary
  bool operator==(const Observed&) const = default;
};

// Expected events, as describe() writes them.
using Strings = std::vector<std::string>;

// `a` followed by `b`.
inline Strings with(Strings a, const Strings& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

// One way of delivering a transcript: the feeds, in order.
struct FeedPlan {
  std::string name;
  std::vector<Segment> feeds;
};

// Calls `visit` with each way of delivering the transcript, one at a time:
// the whole segments in order (first), every segment split in two at every
// offset, one byte at a time, each client segment moved before the server
// segment it answers, all client bytes first, all server bytes first, and
// random interleavings of small chunks.
void for_each_feed_plan(const Transcript& transcript, const std::function<void(const FeedPlan&)>& visit);

// Both directions' bytes in chunks of 1-8 bytes, directions picked at random
// (fixed seed), each direction's own order kept.
FeedPlan random_interleaving(const Transcript& transcript, unsigned seed);

// Feeds one plan to a fresh parser, checking per-feed invariants on the way.
Observed run_plan(const std::vector<Segment>& feeds, const Limits& limits = {},
                  TlsVisibility tls = TlsVisibility::opaque);

// Shorthand for the TLS-terminating runs.
inline constexpr auto terminated = TlsVisibility::terminated;

// Runs every feed plan, CHECKs each against the first (whole segments), and
// returns that reference result. With TlsVisibility::terminated the bytes after
// a TLS ack in the transcript stand for the decrypted inner streams.
Observed observe_every_split(const Transcript& transcript, const Limits& limits = {},
                             TlsVisibility tls = TlsVisibility::opaque);

// True if `needle` occurs in any event, the error or the summary.
bool mentions(const Observed& observed, std::string_view needle);

}  // namespace vhm::rfb::test
