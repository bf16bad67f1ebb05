#include "player/recorded_viewer.hpp"

#include <algorithm>

#include "rfb/client_messages.hpp"
#include "player/compatibility.hpp"

namespace vhm::player {
namespace {

// Messages the player needs are small (SetEncodings at most 256 KiB); longer
// ones (clipboard) are skipped, not held.
constexpr std::size_t max_recorded_message = 512 * 1024;

}  // namespace

std::vector<RecordedViewerChange> RecordedViewerMessages::feed(std::span<const std::uint8_t> bytes) {
  std::vector<RecordedViewerChange> changes;
  if (lost_) return changes;
  const auto skipped = std::min<std::uint64_t>(skip_, bytes.size());
  skip_ -= skipped;
  bytes = bytes.subspan(static_cast<std::size_t>(skipped));
  pending_.insert(pending_.end(), bytes.begin(), bytes.end());
  std::size_t offset = 0;
  while (offset < pending_.size()) {
    const std::span<const std::uint8_t> rest(pending_.data() + offset, pending_.size() - offset);
    const auto frame = rfb::measure_client_message(rest, rfb::no_length_limits);
    if (frame.kind == rfb::ClientMessageSize::Kind::invalid) {
      lost_ = true;
      pending_.clear();
      return changes;
    }
    if (frame.kind == rfb::ClientMessageSize::Kind::need_more) break;
    if (rest.size() < frame.size) {
      if (frame.size > max_recorded_message) {
        skip_ = frame.size - rest.size();
        offset = pending_.size();
      }
      break;
    }
    const auto message = rest.first(static_cast<std::size_t>(frame.size));
    if (frame.type == rfb::client_message::framebuffer_update_request && !requested_) {
      requested_ = true;
      if (before_request_.pixel_format) changes.push_back({before_request_.pixel_format, std::nullopt});
      if (before_request_.encodings) changes.push_back({std::nullopt, std::move(before_request_.encodings)});
    } else if (frame.type == rfb::client_message::set_pixel_format) {
      auto format = record::pixel_format_of_message(message);
      if (requested_)
        changes.push_back({format, std::nullopt});
      else
        before_request_.pixel_format = format;
    } else if (frame.type == rfb::client_message::set_encodings) {
      auto encodings = record::encodings_of_message(message);
      if (requested_)
        changes.push_back({std::nullopt, std::move(encodings)});
      else
        before_request_.encodings = std::move(encodings);
    }
    offset += static_cast<std::size_t>(frame.size);
  }
  pending_.erase(pending_.begin(), pending_.begin() + static_cast<std::ptrdiff_t>(offset));
  return changes;
}

}  // namespace vhm::player
