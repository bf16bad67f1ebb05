#pragma once
// Export to FBS 001.000 (rfbproxy, TightVNC player, vnc2video): "FBS 001.000\n",
// then blocks of u32be length, data zero-padded to 4, u32be milliseconds.
// Server -> viewer bytes only, starting as a 3.3 handshake with security type
// None ("RFB 003.003\n" + u32 1) and a ServerInit whose pixel format is the
// viewer's (Header::viewer_pixel_format when set). Never an empty block.
#include <cstdint>
#include <filesystem>
#include <string>

namespace vhm::record {

struct ExportResult {
  bool ok = false;
  bool source_truncated = false;  // exported up to the last complete block
  std::string error;
  std::uint64_t blocks = 0;
  std::uint64_t bytes = 0;
};

// Refuses to overwrite `out` unless `overwrite`; writes to a temporary name and renames.
ExportResult export_fbs(const std::filesystem::path& in, const std::filesystem::path& out, bool overwrite = false);

}  // namespace vhm::record
