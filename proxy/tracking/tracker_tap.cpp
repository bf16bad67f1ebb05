#include "proxy/tracking/tracker_tap.hpp"

#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace vhm::proxy {
namespace {

constexpr int tee_pipe_size = 256 * 1024;  // the relay's splice pipe: a whole chunk fits

std::size_t index_of(rfb::Direction direction) { return static_cast<std::size_t>(direction); }

}  // namespace

TrackerTap::TrackerTap(const rfb::TrackerPolicy& policy, const rfb::PixelFormat& format, std::uint16_t width,
                       std::uint16_t height, NoteHandler on_notes)
    : tracker_(policy, format, width, height), on_notes_(std::move(on_notes)) {}

std::span<const std::uint8_t> TrackerTap::filter(rfb::Direction direction, std::span<const std::uint8_t> bytes) {
  notes_.clear();
  const auto out = tracker_.feed(direction, bytes, notes_);
  hand_over_notes();
  return out;
}

relay::Tap::Need TrackerTap::needs(rfb::Direction direction) const {
  if (!tracker_.following(direction)) return Need::nothing;
  if (copies_only_ || no_pipe_[index_of(direction)] || tracker_.filtering(direction)) return Need::copy;
  return Need::tee;
}

int TrackerTap::tee_fd(rfb::Direction direction) {
  const auto d = index_of(direction);
  if (needs(direction) != Need::tee) return -1;
  if (!pipes_[d]) {
    pipes_[d] = std::make_unique<relay::Pipe>(tee_pipe_size);
    if (!pipes_[d]->ok()) {
      pipes_[d].reset();
      no_pipe_[d] = true;
      return -1;
    }
  }
  return pipes_[d]->write_end();
}

// The relay just tee'd `size` bytes into the pipe: they are there, read them now.
void TrackerTap::teed(rfb::Direction direction, std::size_t size) {
  const auto d = index_of(direction);
  teed_bytes_.resize(size);
  std::size_t got = 0;
  while (got < size) {
    const ssize_t n = ::read(pipes_[d]->read_end(), teed_bytes_.data() + got, size - got);
    if (n > 0) {
      got += static_cast<std::size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    notes_.clear();
    tracker_.stop_following(direction,
                            std::string("cannot read its tee pipe: ") + (n < 0 ? std::strerror(errno) : "empty"),
                            notes_);
    hand_over_notes();
    return;
  }
  notes_.clear();
  tracker_.feed(direction, teed_bytes_, notes_);  // a watched direction: what goes on is what was teed
  hand_over_notes();
}

void TrackerTap::hand_over_notes() {
  if (!notes_.empty()) on_notes_(notes_);
}

}  // namespace vhm::proxy
