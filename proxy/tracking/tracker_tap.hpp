#pragma once
// The message tracker (rfb/message_tracker.hpp) as a tap of the relay: it
// sees each chunk before the recorder and the peer, returns what goes on,
// and hands what it noticed to the session (proxy/tracking/session_tracking.cpp).
//
// A direction the tracker only watches (no rule may drop or rewrite there:
// `track: true`, the tracking events, `log`, view-only's server side) does
// not need the bytes in the relay's hands: the relay keeps splicing and
// tee(2)s them into the tap's pipe, which the tap reads at once. The bytes
// then cross into the proxy once instead of in and out again (bench/README.md,
// "Message tracking"). A recorder teeing the same session takes the tee; the
// tracker then gets copies (copies_only()).
#include <array>
#include <functional>
#include <memory>
#include <vector>

#include "proxy/relay/pipe.hpp"
#include "proxy/relay/tap.hpp"
#include "rfb/message_tracker.hpp"

namespace vhm::proxy {

class TrackerTap final : public relay::Tap {
 public:
  using NoteHandler = std::function<void(std::vector<rfb::TrackerNote>&)>;
  TrackerTap(const rfb::TrackerPolicy& policy, const rfb::PixelFormat& format, std::uint16_t width,
             std::uint16_t height, NoteHandler on_notes);
  ~TrackerTap() override;
  TrackerTap(const TrackerTap&) = delete;
  TrackerTap& operator=(const TrackerTap&) = delete;

  std::span<const std::uint8_t> filter(rfb::Direction direction, std::span<const std::uint8_t> bytes) override;
  void on_bytes(rfb::Direction, std::span<const std::uint8_t>) override {}
  Need needs(rfb::Direction direction) const override;
  int tee_fd(rfb::Direction direction) override;
  void teed(rfb::Direction direction, std::size_t size) override;

  // Another tap tees this session (the recorder): take copies instead.
  void copies_only() { copies_only_ = true; }
  const rfb::MessageTracker& tracker() const { return tracker_; }

 private:
  void hand_over_notes();

  rfb::MessageTracker tracker_;
  NoteHandler on_notes_;
  std::vector<rfb::TrackerNote> notes_;
  bool copies_only_ = false;
  std::array<std::unique_ptr<relay::Pipe>, 2> pipes_;  // per direction, made on the first tee
  std::array<bool, 2> no_pipe_{};                      // none could be had: copies
  int null_fd_ = -1;  // /dev/null, where skippable bytes are spliced unread
};

}  // namespace vhm::proxy
