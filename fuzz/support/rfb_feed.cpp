#include "fuzz/support/rfb_feed.hpp"

#include <array>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "fuzz/support/check.hpp"
#include "tests/unit/rfb/event_text.hpp"

namespace vhm::fuzz {
namespace {

using rfb::test::describe;

using rfb::Direction;

struct Outcome {
  std::vector<std::string> events;
  std::string error;
  bool finished = false;
  bool failed = false;
  std::string summary;
  bool operator==(const Outcome&) const = default;
};

std::string text(const Outcome& o) {
  std::string out;
  for (const auto& e : o.events) out += "  " + e + "\n";
  return out + "  error: " + o.error + "\n  finished=" + std::to_string(o.finished) +
         " failed=" + std::to_string(o.failed) + "\n  " + o.summary + "\n";
}

// No event may carry more than the limits allow: lengths are checked before
// they are trusted.
void check_limits(const rfb::Event& event, const rfb::Limits& l) {
  const auto what = [&] { return describe(event); };
  if (const auto* e = std::get_if<rfb::ConnectionRefused>(&event))
    VHM_FUZZ_CHECK(e->reason.size() <= l.max_reason_length, what());
  if (const auto* e = std::get_if<rfb::UserNameSeen>(&event))
    VHM_FUZZ_CHECK(e->user.size() <= l.max_user_name_length, what());
  if (const auto* e = std::get_if<rfb::ServerInitSeen>(&event))
    VHM_FUZZ_CHECK(e->desktop_name.size() <= l.max_desktop_name_length, what());
  if (const auto* e = std::get_if<rfb::VeNCryptSubtypesOffered>(&event))
    VHM_FUZZ_CHECK(!e->subtypes.empty() && e->subtypes.size() <= l.max_vencrypt_subtypes, what());
}

// One feed, checked against the contract of HandshakeParser::feed.
void checked_feed(rfb::HandshakeParser& parser, const rfb::Limits& limits, Direction direction, const Bytes& bytes,
                  Outcome& out) {
  const bool was_finished = parser.finished(), was_failed = parser.failed();
  const std::string old_error = out.error;
  rfb::FeedResult r = parser.feed(direction, bytes);
  const auto where = [&] {
    return "feed of " + std::to_string(bytes.size()) + " bytes, status " + std::to_string(static_cast<int>(r.status)) +
           ", error \"" + r.error + "\"";
  };

  VHM_FUZZ_CHECK(!(parser.finished() && parser.failed()), where());
  VHM_FUZZ_CHECK((r.status == rfb::Status::error) == parser.failed(), where());
  VHM_FUZZ_CHECK((r.status == rfb::Status::error) == !r.error.empty(), where());
  if (was_failed) VHM_FUZZ_CHECK(r.events.empty() && r.error == old_error, where() + ": a failed parser must repeat its error");
  if (was_finished) VHM_FUZZ_CHECK(r.status == rfb::Status::need_more && r.events.empty(), where() + ": fed after finishing");
  if (r.status == rfb::Status::need_more) VHM_FUZZ_CHECK(r.events.empty() && (!parser.finished() || was_finished), where());
  if (r.status == rfb::Status::progressed) VHM_FUZZ_CHECK(!r.events.empty() || parser.finished(), where());
  if (parser.awaiting_security_result()) VHM_FUZZ_CHECK(!parser.finished() && !parser.failed(), where());

  for (auto& e : r.events) {
    check_limits(e, limits);
    out.events.push_back(describe(e));
  }
  if (r.status == rfb::Status::error) out.error = r.error;
}

}  // namespace

RfbInput read_rfb_input(std::span<const std::uint8_t> data) {
  RfbInput input;
  if (data.empty()) return input;
  const std::uint8_t flags = data[0];
  input.tls_terminated = flags & 1;
  input.small_limits = flags & 2;
  static constexpr std::array<rfb::Version, 4> versions = {{{3, 8}, {3, 7}, {3, 3}, {3, 8}}};
  input.prefix_version = versions[(flags >> 2) & 3];
  data = data.subspan(1);
  while (!data.empty()) {
    const std::uint8_t header = data[0];
    data = data.subspan(1);
    const std::size_t n = std::min<std::size_t>((header & 0x7f) + 1, data.size());
    const Direction direction = (header & 0x80) ? Direction::client_to_server : Direction::server_to_client;
    input.chunks.push_back({direction, Bytes(data.begin(), data.begin() + static_cast<std::ptrdiff_t>(n))});
    data = data.subspan(n);
  }
  return input;
}

rfb::Limits limits_for(const RfbInput& input) {
  rfb::Limits limits;
  if (!input.small_limits) return limits;
  limits.max_reason_length = 8;
  limits.max_desktop_name_length = 8;
  limits.max_user_name_length = 4;
  limits.max_password_length = 4;
  limits.max_tight_capabilities = 2;
  limits.max_vencrypt_subtypes = 2;
  limits.max_dh_key_length = 16;
  return limits;
}

Bytes version_message(rfb::Version version) {
  const std::string text = "RFB 00" + std::to_string(version.major) + ".00" + std::to_string(version.minor) + "\n";
  return Bytes(text.begin(), text.end());
}

void run_checked(const RfbInput& input, const std::vector<Segment>& prefix) {
  const rfb::Limits limits = limits_for(input);
  const auto tls = input.tls_terminated ? rfb::TlsVisibility::terminated : rfb::TlsVisibility::opaque;

  // As the wire delivered it: the prefix, then the input's chunks.
  rfb::HandshakeParser parser(limits, tls);
  Outcome chunked;
  std::array<Bytes, 2> streams;
  for (const auto* segments : {&prefix, &input.chunks}) {
    for (const auto& s : *segments) {
      checked_feed(parser, limits, s.direction, s.bytes, chunked);
      auto& stream = streams[static_cast<std::size_t>(s.direction)];
      stream.insert(stream.end(), s.bytes.begin(), s.bytes.end());
    }
  }
  chunked.finished = parser.finished();
  chunked.failed = parser.failed();
  chunked.summary = describe(parser.summary());

  // Each direction in one piece: all server bytes, then all client bytes.
  rfb::HandshakeParser whole(limits, tls);
  Outcome reference;
  checked_feed(whole, limits, Direction::server_to_client, streams[0], reference);
  checked_feed(whole, limits, Direction::client_to_server, streams[1], reference);
  reference.finished = whole.finished();
  reference.failed = whole.failed();
  reference.summary = describe(whole.summary());

  // VHM_FUZZ_PRINT=1 shows what an input does (e.g. a reproducer or a seed).
  static const bool print = std::getenv("VHM_FUZZ_PRINT") != nullptr;
  if (print) std::fprintf(stderr, "%s", text(chunked).c_str());

  VHM_FUZZ_CHECK(chunked == reference,
                 "the split of the byte streams changed the result\nchunked:\n" + text(chunked) + "whole:\n" + text(reference));
}

}  // namespace vhm::fuzz
