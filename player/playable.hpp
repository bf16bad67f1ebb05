#pragma once
// A recording checked once at start: readable, content visible, and what
// every viewer's ServerInit will say. Each viewer then reads the blocks with
// its own RecordingReader (its own timeline, one block in memory at a time).
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "record/format.hpp"
#include "record/inspect.hpp"  // Integrity

namespace vhm::player {

struct Playable {
  std::filesystem::path path;
  record::Header header;
  // What the recorded updates are encoded in: the recorded viewer's
  // SetPixelFormat when it sent one, else the server's own format.
  record::PixelFormat pixel_format;
  record::Integrity integrity = record::Integrity::complete;  // complete, truncated or corrupt (after the header)
  std::string problem;                                        // why not complete
  std::uint64_t last_time_us = 0;
  std::uint64_t server_bytes = 0;
  // The recorded viewer switched to another pixel format during the session:
  // no viewer can be shown the recorded bytes after that point.
  std::optional<std::uint64_t> format_change_us;
  std::optional<record::PixelFormat> format_change;
};

// nullopt and a one-line `error` ("x.vhmrec: not a vnc-hooks-manager
// recording", "...: the proxy could not see this session's content (...)").
std::optional<Playable> load_playable(const std::filesystem::path& path, std::string& error);

// A reader's error without its leading "FILE: " (log lines name the file already).
std::string without_file_name(const std::filesystem::path& path, std::string error);

// ServerInit for the viewers: recorded size and name, the recorded updates' pixel format.
std::vector<std::uint8_t> server_init_message(const Playable& playable);

}  // namespace vhm::player
