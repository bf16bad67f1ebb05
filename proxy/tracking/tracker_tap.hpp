#pragma once
// The message tracker (rfb/message_tracker.hpp) as a tap of the relay: it
// sees each chunk before the recorder and the peer, returns what goes on,
// and hands what it noticed to the session (proxy/tracking/session_tracking.cpp).
#include <functional>
#include <vector>

#include "proxy/relay/tap.hpp"
#include "rfb/message_tracker.hpp"

namespace vhm::proxy {

class TrackerTap final : public relay::Tap {
 public:
  using NoteHandler = std::function<void(std::vector<rfb::TrackerNote>&)>;
  TrackerTap(const rfb::TrackerPolicy& policy, const rfb::PixelFormat& format, std::uint16_t width,
             std::uint16_t height, NoteHandler on_notes)
      : tracker_(policy, format, width, height), on_notes_(std::move(on_notes)) {}

  std::span<const std::uint8_t> filter(rfb::Direction direction, std::span<const std::uint8_t> bytes) override {
    notes_.clear();
    const auto out = tracker_.feed(direction, bytes, notes_);
    if (!notes_.empty()) on_notes_(notes_);
    return out;
  }
  void on_bytes(rfb::Direction, std::span<const std::uint8_t>) override {}
  Need needs(rfb::Direction direction) const override {
    return tracker_.following(direction) ? Need::copy : Need::nothing;
  }
  const rfb::MessageTracker& tracker() const { return tracker_; }

 private:
  rfb::MessageTracker tracker_;
  NoteHandler on_notes_;
  std::vector<rfb::TrackerNote> notes_;
};

}  // namespace vhm::proxy
