#pragma once
// A tap sees every chunk the relay moves once the handshake is over (the
// handshake parser comes first and is the session's own), in order: the
// message tracker (proxy/tracking/tracker_tap.hpp) first, as it may change
// what goes on, then the recorder (proxy/recording/recorder_tap.hpp), which
// records what went on. Taps know nothing of sockets; they may not block.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

#include "rfb/handshake_parser.hpp"

namespace vhm::proxy::relay {

class Tap {
 public:
  virtual ~Tap() = default;
  // What goes on of a chunk: `bytes` itself (most taps), a part of it, or
  // bytes of the tap's own, valid until its next filter() of that direction
  // (the tracker: view-only drops input, clipboard rules, a rewritten
  // SetEncodings). Later taps and the peer get the result.
  virtual std::span<const std::uint8_t> filter(rfb::Direction, std::span<const std::uint8_t> bytes) { return bytes; }
  virtual void on_bytes(rfb::Direction direction, std::span<const std::uint8_t> bytes) = 0;
  // What the tap needs of a direction now: nothing (the relay may splice), a
  // copy of every chunk (on_bytes), or a tee(2) of the spliced bytes (only
  // the recorder; see proxy/relay/splice.cpp).
  enum class Need : std::uint8_t { nothing, copy, tee };
  virtual Need needs(rfb::Direction direction) const = 0;

  // Tee mode: the pipe to tee(2) this direction's bytes into (-1: none could
  // be had; the tap then needs copies), and how many went in. One tap at a
  // time may tee a direction.
  virtual int tee_fd(rfb::Direction) { return -1; }
  virtual void teed(rfb::Direction, std::size_t) {}
  // Behind with what it was given (its queue, its tee pipe): the relay of
  // this session waits for it (relay/tap_backpressure.cpp), bounded; after
  // that it must do without and needs nothing more: fell_behind() says how
  // long the relay waited, give_up() any other reason (a failed tee).
  virtual bool congested() const { return false; }
  virtual void fell_behind(std::chrono::milliseconds waited) { (void)waited; }
  virtual void give_up(const std::string& why) { (void)why; }
};

}  // namespace vhm::proxy::relay
