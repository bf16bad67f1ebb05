#pragma once
// How one fuzz input drives the RFB handshake parser in both directions at
// once, and the parser's contract checked on the way (docs/fuzzing.md):
//
//   byte 0   flags: bit 0  TlsVisibility::terminated (else opaque)
//                   bit 1  small limits, so every length limit is reachable
//                   bits 2-3  version of a fixed prefix (security-type targets):
//                             0 or 3 -> 3.8, 1 -> 3.7, 2 -> 3.3
//   then     chunks: a header byte h, then (h & 0x7f) + 1 bytes (fewer at the
//            end of the input) travelling client-to-server if bit 7 is set,
//            else server-to-client.
#include <cstdint>
#include <span>
#include <vector>

#include "rfb/handshake_parser.hpp"

namespace vhm::fuzz {

using Bytes = std::vector<std::uint8_t>;

struct Segment {
  rfb::Direction direction;
  Bytes bytes;
};

struct RfbInput {
  bool tls_terminated = false;
  bool small_limits = false;
  rfb::Version prefix_version{3, 8};
  std::vector<Segment> chunks;
};

RfbInput read_rfb_input(std::span<const std::uint8_t> data);

rfb::Limits limits_for(const RfbInput& input);

// Feeds `prefix` then the input's chunks to a parser, checking every feed
// against the contract in handshake_parser.hpp (status, events, finished and
// failed stay consistent; no event exceeds a limit). Then feeds the same two
// byte streams to a second parser, each direction in one piece, and requires
// the same events, error and summary: any split of the streams must give the
// same result.
void run_checked(const RfbInput& input, const std::vector<Segment>& prefix = {});

// The bytes of a version message, e.g. "RFB 003.008\n" for 3.8.
Bytes version_message(rfb::Version version);

}  // namespace vhm::fuzz
