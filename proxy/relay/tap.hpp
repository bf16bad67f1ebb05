#pragma once
// A tap sees a copy of every chunk the relay moves once the handshake is over
// (the handshake parser comes first and is the session's own). Taps know
// nothing of sockets; they may not block. Today: the recorder
// (proxy/recording/recorder_tap.hpp); the message tracker will be the next.
#include <cstdint>
#include <span>

#include "rfb/handshake_parser.hpp"

namespace vhm::proxy::relay {

class Tap {
 public:
  virtual ~Tap() = default;
  virtual void on_bytes(rfb::Direction direction, std::span<const std::uint8_t> bytes) = 0;
  // What the tap needs of a direction now: nothing (the relay may splice), a
  // copy of every chunk (on_bytes), or a tee(2) of the spliced bytes (only
  // the recorder; see proxy/relay/splice.cpp).
  enum class Need : std::uint8_t { nothing, copy, tee };
  virtual Need needs(rfb::Direction direction) const = 0;
};

}  // namespace vhm::proxy::relay
