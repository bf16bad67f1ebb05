#include "player/playable.hpp"

#include <algorithm>

#include "player/compatibility.hpp"
#include "player/recorded_viewer.hpp"
#include "record/reader.hpp"

namespace vhm::player {

std::optional<Playable> load_playable(const std::filesystem::path& path, std::string& error) {
  auto reader = record::RecordingReader::open(path, error);
  if (!reader) return std::nullopt;
  const auto& header = reader->header();
  if (!header.content_visible) {
    error = path.string() + ": the proxy could not see this session's content (" +
            (header.not_visible_reason.empty() ? "no reason recorded" : header.not_visible_reason) +
            "), so the recording holds nothing to play";
    return std::nullopt;
  }
  Playable playable;
  playable.path = path;
  playable.header = header;
  playable.pixel_format = header.viewer_pixel_format.value_or(header.server_init.pixel_format);
  // One pass over every block (one in memory at a time): integrity and
  // length are known before the first viewer comes, and reported once.
  record::Block block;
  std::string problem;
  RecordedViewerMessages recorded_viewer;
  for (;;) {
    const auto status = reader->next(block, problem);
    if (status == record::ReadStatus::block) {
      playable.last_time_us = block.time_us;
      if (block.type == record::BlockType::viewer_data && !playable.format_change_us)
        for (const auto& change : recorded_viewer.feed(block.payload))
          if (change.pixel_format && !same_pixel_format(*change.pixel_format, playable.pixel_format)) {
            playable.format_change_us = block.time_us;
            playable.format_change = change.pixel_format;
            break;
          }
      if (block.type == record::BlockType::server_data) playable.server_bytes += block.payload.size();
      continue;
    }
    playable.integrity = status == record::ReadStatus::complete    ? record::Integrity::complete
                         : status == record::ReadStatus::truncated ? record::Integrity::truncated
                                                                   : record::Integrity::corrupt;
    playable.problem = without_file_name(path, std::move(problem));
    if (const auto& trailer = reader->trailer())
      playable.last_time_us = std::max(playable.last_time_us, trailer->duration_us);
    break;
  }
  return playable;
}

std::string without_file_name(const std::filesystem::path& path, std::string error) {
  if (const auto prefix = path.string() + ": "; error.starts_with(prefix)) error.erase(0, prefix.size());
  return error;
}

std::vector<std::uint8_t> server_init_message(const Playable& playable) {
  const auto& init = playable.header.server_init;
  std::vector<std::uint8_t> out;
  auto u16 = [&](std::uint16_t v) { out.insert(out.end(), {std::uint8_t(v >> 8), std::uint8_t(v)}); };
  u16(init.width);
  u16(init.height);
  out.insert(out.end(), playable.pixel_format.bytes.begin(), playable.pixel_format.bytes.end());
  const auto length = static_cast<std::uint32_t>(init.desktop_name.size());
  out.insert(out.end(), {std::uint8_t(length >> 24), std::uint8_t(length >> 16), std::uint8_t(length >> 8),
                         std::uint8_t(length)});
  out.insert(out.end(), init.desktop_name.begin(), init.desktop_name.end());
  return out;
}

}  // namespace vhm::player
