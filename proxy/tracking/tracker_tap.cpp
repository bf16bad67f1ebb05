#include "proxy/tracking/tracker_tap.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>

#include <cerrno>
#include <cstring>

namespace vhm::proxy {
namespace {

constexpr int tee_pipe_size = 256 * 1024;  // the relay's splice pipe: a whole chunk fits
constexpr std::size_t read_chunk = 64 * 1024;
constexpr std::uint64_t min_discard = 4096;  // below, one read of headers and data is cheaper than two calls

std::size_t index_of(rfb::Direction direction) { return static_cast<std::size_t>(direction); }

}  // namespace

TrackerTap::TrackerTap(const rfb::TrackerPolicy& policy, const rfb::PixelFormat& format, std::uint16_t width,
                       std::uint16_t height, NoteHandler on_notes)
    : tracker_(policy, format, width, height), on_notes_(std::move(on_notes)) {}

TrackerTap::~TrackerTap() {
  if (null_fd_ >= 0) ::close(null_fd_);
}

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

// The relay just tee'd `size` bytes into the pipe: they are there, take them
// now. What the framer would only count (pixel and zlib data) is dropped in
// the kernel (splice to /dev/null) and stands in as zeros, so only headers
// are copied into the proxy.
void TrackerTap::teed(rfb::Direction direction, std::size_t size) {
  // Used within this call only: one per io thread serves every session.
  thread_local std::vector<std::uint8_t> buffer(read_chunk);
  thread_local const std::vector<std::uint8_t> zeros(256 * 1024);
  const int pipe = pipes_[index_of(direction)]->read_end();
  while (size > 0) {
    const auto skippable = tracker_.skippable(direction);
    const bool discard = skippable >= min_discard;
    const std::size_t want = discard ? static_cast<std::size_t>(std::min<std::uint64_t>({skippable, size, zeros.size()}))
                                     : std::min(size, read_chunk);
    if (discard && null_fd_ < 0) null_fd_ = ::open("/dev/null", O_WRONLY | O_CLOEXEC);
    const ssize_t n = discard && null_fd_ >= 0
                          ? ::splice(pipe, nullptr, null_fd_, nullptr, want, SPLICE_F_NONBLOCK)
                          : ::read(pipe, buffer.data(), std::min(want, buffer.size()));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      notes_.clear();
      tracker_.stop_following(direction,
                              std::string("cannot take its tee pipe: ") + (n < 0 ? std::strerror(errno) : "empty"),
                              notes_);
      hand_over_notes();
      return;
    }
    const auto got = static_cast<std::size_t>(n);
    size -= got;
    notes_.clear();
    // A watched direction: feed() passes what it is given; its result is not used.
    tracker_.feed(direction, std::span<const std::uint8_t>(discard && null_fd_ >= 0 ? zeros.data() : buffer.data(), got),
                  notes_);
    hand_over_notes();
  }
}

void TrackerTap::hand_over_notes() {
  if (!notes_.empty()) on_notes_(notes_);
}

}  // namespace vhm::proxy
