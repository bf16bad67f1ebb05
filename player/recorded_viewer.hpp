#pragma once
// Follows the recorded viewer's own messages (viewer_data blocks) during
// playback. The header only has its first SetPixelFormat and SetEncodings; a
// viewer may change them later (TigerVNC's automatic selection lowers the
// colour depth on a slow link), and from then on the recorded updates are
// encoded differently. The player must notice, to stop before such bytes
// instead of showing garbage.
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "record/format.hpp"

namespace vhm::player {

struct RecordedViewerChange {
  std::optional<record::PixelFormat> pixel_format;     // from a SetPixelFormat
  std::optional<std::vector<std::int32_t>> encodings;  // from a SetEncodings
};

class RecordedViewerMessages {
 public:
  // The pixel format and encodings these bytes put in effect, in order: at
  // the recorded viewer's first FramebufferUpdateRequest the last of each sent
  // before it (what the header should hold: checking it costs nothing), then
  // every later SetPixelFormat and SetEncodings. Messages may span blocks.
  std::vector<RecordedViewerChange> feed(std::span<const std::uint8_t> bytes);
  // A message type the framer does not know: the rest cannot be followed.
  bool lost() const { return lost_; }

 private:
  std::vector<std::uint8_t> pending_;
  std::uint64_t skip_ = 0;
  bool requested_ = false;  // the first FramebufferUpdateRequest was seen
  RecordedViewerChange before_request_;  // the last of each before it
  bool lost_ = false;
};

}  // namespace vhm::player
